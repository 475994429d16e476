import copy

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from promptconfig.common.errors import NotFound, ValidationFailed
from promptconfig.workspaces.viewsets import WorkspaceScopedViewSet
from templates_app import services
from templates_app.filters import TemplateFilter
from templates_app.models import PromptTemplate
from templates_app.review import save_warnings, suggestions_for, version_compare
from templates_app.selectors import (
    event_list,
    relationship_lists,
    template_facets,
    template_for_write,
    template_list,
    template_resolve,
    template_stats,
    version_get,
    version_history,
    version_list,
    version_pinned,
)
from templates_app.serializers import (
    LABEL,
    CompareQuerySerializer,
    ForkSerializer,
    HistoryEntrySerializer,
    LabelSerializer,
    LifecycleSerializer,
    PinQuerySerializer,
    RelationshipCreateSerializer,
    RelationshipSerializer,
    SearchSerializer,
    TemplateSavedSerializer,
    TemplateSerializer,
    TemplateWriteSerializer,
    VersionSerializer,
)

LANGUAGE_PARAM = OpenApiParameter("language", str, description="Language variant (falls back de-AT -> de -> default)")
NUMBER = r"(?P<number>[0-9]+)"

SUGGESTIONS = inline_serializer(
    "Suggestions",
    {
        "version": serializers.IntegerField(),
        "suggestions": inline_serializer(
            "Suggestion",
            {
                "code": serializers.CharField(),
                "severity": serializers.ChoiceField(choices=["error", "warning", "info"]),
                "message": serializers.CharField(),
            },
            many=True,
        ),
    },
)


CHANGE = type(inline_serializer("Change", {"from": serializers.JSONField(), "to": serializers.JSONField()}))


def changes_field() -> serializers.DictField:
    """A new field each time: one instance under two names is bound to the last name only (the schema lost one)."""
    return serializers.DictField(child=CHANGE(), help_text='`{"dotted.path": {"from", "to"}}`')


COMPARISON = inline_serializer(
    "Comparison",
    {
        "from": serializers.IntegerField(),
        "to": serializers.IntegerField(),
        "content_diff": serializers.CharField(help_text="unified diff"),
        "similarity": serializers.FloatField(min_value=0, max_value=1),
        "variables_added": serializers.ListField(child=serializers.CharField()),
        "variables_removed": serializers.ListField(child=serializers.CharField()),
        "metadata_changes": changes_field(),
        "model_config_changes": changes_field(),
    },
)
RELATIONSHIP_LISTS = inline_serializer(
    "RelationshipLists",
    {"outgoing": RelationshipSerializer(many=True), "incoming": RelationshipSerializer(many=True)},
)


class TemplateViewSet(mixins.ListModelMixin, WorkspaceScopedViewSet):
    """Prompt templates of the caller's workspace, addressed by key (and `?language=`)."""

    serializer_class = TemplateSerializer
    filterset_class = TemplateFilter
    # Search is a read that takes a body: a read key may search, and it counts as a read.
    action_scopes = {"search": "read"}
    action_throttle_scopes = {"search": "runtime"}
    lookup_field = "key"
    lookup_value_regex = r"[a-z0-9][a-z0-9_-]{0,99}"

    def get_queryset(self):
        return template_list(workspace=self.workspace)

    # --- helpers -------------------------------------------------------------------------------
    def _language(self) -> str | None:
        return self.request.query_params.get("language") or None

    def _read(self, key: str) -> PromptTemplate:
        return template_resolve(workspace=self.workspace, key=key, language=self._language())

    def _for_write(self, key: str) -> PromptTemplate:
        return template_for_write(workspace=self.workspace, key=key, language=self._language())

    def _saved(self, template: PromptTemplate) -> dict:
        """A create's or update's answer: the representation and `warnings` about the latest version's body."""
        latest = version_get(template=template, number=template.latest_version_number)
        return {**self._fresh(template), "warnings": save_warnings(latest)}

    def _fresh(self, template: PromptTemplate) -> dict:
        fresh = template_list(workspace=self.workspace).filter(pk=template.pk).first()
        if fresh is None:  # deleted by a concurrent request once this one had committed
            raise NotFound()
        return TemplateSerializer(fresh).data

    # --- CRUD ----------------------------------------------------------------------------------
    @extend_schema(request=TemplateWriteSerializer, responses={201: TemplateSavedSerializer})
    def create(self, request):
        data = self.validated(TemplateWriteSerializer, request.data)
        template = services.template_create(workspace=self.workspace, actor=self.actor, **data)
        return Response(self._saved(template), status=status.HTTP_201_CREATED)

    @extend_schema(
        parameters=[
            LANGUAGE_PARAM,
            OpenApiParameter("version", int, description="show this version's content instead of the served one"),
            OpenApiParameter(
                "label",
                str,
                pattern=LABEL.replace("\\Z", "$"),
                description="show the version this label points at (`latest` too); with `version`, the label must "
                "point at that version (else 409)",
            ),
        ]
    )
    def retrieve(self, request, key=None):
        # A copy: the template read is the process's shared cached instance. Its usage and rating figures are
        # read fresh (one query): they move with every generation and feedback, which do not drop the cache.
        template = copy.copy(self._read(key))
        for name, value in template_stats(template).items():
            setattr(template, name, value)
        pin = self.validated(PinQuerySerializer, request.query_params)
        if pin:
            template.served_version = version_pinned(template, **pin)
        return Response(TemplateSerializer(template).data)

    @extend_schema(request=TemplateWriteSerializer, responses=TemplateSavedSerializer, parameters=[LANGUAGE_PARAM])
    def update(self, request, key=None):
        return self._update(request, key, partial=False)

    @extend_schema(request=TemplateWriteSerializer, responses=TemplateSavedSerializer, parameters=[LANGUAGE_PARAM])
    def partial_update(self, request, key=None):
        return self._update(request, key, partial=True)

    def _update(self, request, key: str, *, partial: bool) -> Response:
        with transaction.atomic():
            template = self._for_write(key)
            data = self.validated(TemplateWriteSerializer, request.data, instance=template, partial=partial)
            services.template_update(template, actor=self.actor, **data)
        return Response(self._saved(template))

    @extend_schema(parameters=[LANGUAGE_PARAM])
    def destroy(self, request, key=None):
        with transaction.atomic():
            services.template_delete(template=self._for_write(key), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- versions and labels -------------------------------------------------------------------
    @extend_schema(parameters=[LANGUAGE_PARAM], responses=VersionSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def versions(self, request, key=None):
        template = self._read(key)
        page = self.paginate_queryset(version_list(template=template))
        history = version_history(template=template)
        return self.get_paginated_response(VersionSerializer(page, many=True, context={"history": history}).data)

    @extend_schema(parameters=[LANGUAGE_PARAM], responses=VersionSerializer)
    @action(detail=True, methods=["get"], url_path=f"versions/{NUMBER}")
    def version_detail(self, request, key=None, number=None):
        return Response(VersionSerializer(version_get(template=self._read(key), number=int(number))).data)

    @extend_schema(parameters=[LANGUAGE_PARAM], request=None, responses=TemplateSerializer)
    @action(detail=True, methods=["post"], url_path=f"versions/{NUMBER}/publish")
    def publish(self, request, key=None, number=None):
        return self._move_production(key, int(number), rollback=False)

    @extend_schema(parameters=[LANGUAGE_PARAM], request=None, responses=TemplateSerializer)
    @action(detail=True, methods=["post"], url_path=f"versions/{NUMBER}/rollback")
    def rollback(self, request, key=None, number=None):
        return self._move_production(key, int(number), rollback=True)

    def _move_production(self, key: str, number: int, *, rollback: bool) -> Response:
        with transaction.atomic():
            template = self._for_write(key)
            services.version_publish(template=template, number=number, actor=self.actor, rollback=rollback)
        return Response(self._fresh(template))

    @extend_schema(
        parameters=[
            LANGUAGE_PARAM,
            OpenApiParameter("from", int, required=True),
            OpenApiParameter("to", int, required=True),
        ],
        responses=COMPARISON,
    )
    @action(detail=True, methods=["get"], url_path="versions/compare")
    def compare(self, request, key=None):
        numbers = self.validated(CompareQuerySerializer, request.query_params)
        template = self._read(key)
        older, newer = (version_get(template=template, number=numbers[end]) for end in ("from", "to"))
        return Response(version_compare(older, newer))

    @extend_schema(parameters=[LANGUAGE_PARAM], request=LabelSerializer, responses=TemplateSerializer)
    @action(detail=True, methods=["put", "delete"], url_path=r"labels/(?P<label>[a-z0-9][a-z0-9_-]{0,63})")
    def label(self, request, key=None, label=None):
        with transaction.atomic():
            template = self._for_write(key)
            if request.method == "DELETE":
                services.label_delete(template=template, name=label, actor=self.actor)
                return Response(status=status.HTTP_204_NO_CONTENT)
            number = self.validated(LabelSerializer, request.data)["version"]
            services.label_set(template=template, name=label, number=number, actor=self.actor)
        return Response(self._fresh(template))

    @extend_schema(parameters=[LANGUAGE_PARAM], responses=HistoryEntrySerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request, key=None):
        page = self.paginate_queryset(event_list(template=self._read(key)))
        return self.get_paginated_response(HistoryEntrySerializer(page, many=True).data)

    # --- lifecycle, fork, relationships --------------------------------------------------------
    @extend_schema(parameters=[LANGUAGE_PARAM], request=LifecycleSerializer, responses=TemplateSerializer)
    @action(detail=True, methods=["put"])
    def lifecycle(self, request, key=None):
        data = self.validated(LifecycleSerializer, request.data)
        with transaction.atomic():
            template = self._for_write(key)
            services.template_set_lifecycle(template=template, actor=self.actor, **data)
        return Response(self._fresh(template))

    @extend_schema(parameters=[LANGUAGE_PARAM], request=ForkSerializer, responses={201: TemplateSerializer})
    @action(detail=True, methods=["post"])
    def fork(self, request, key=None):
        data = self.validated(ForkSerializer, request.data)
        with transaction.atomic():
            fork = services.template_fork(template=self._for_write(key), actor=self.actor, **data)
        return Response(self._fresh(fork), status=status.HTTP_201_CREATED)

    @extend_schema(methods=["GET"], parameters=[LANGUAGE_PARAM], responses=RELATIONSHIP_LISTS)
    @extend_schema(
        methods=["POST"],
        parameters=[LANGUAGE_PARAM],
        request=RelationshipCreateSerializer,
        responses={201: RelationshipSerializer},
    )
    @action(detail=True, methods=["get", "post"])
    def relationships(self, request, key=None):
        if request.method == "POST":
            data = self.validated(RelationshipCreateSerializer, request.data)
            with transaction.atomic():
                relationship = services.relationship_add(
                    template=self._for_write(key), target_key=data["target"], kind=data["kind"], actor=self.actor
                )
            return Response(RelationshipSerializer(relationship).data, status=status.HTTP_201_CREATED)
        lists = relationship_lists(template=self._read(key))
        return Response({name: RelationshipSerializer(rows, many=True).data for name, rows in lists.items()})

    # --- review ----------------------------------------------------------------------------------
    @extend_schema(parameters=[LANGUAGE_PARAM, OpenApiParameter("version", int)], responses=SUGGESTIONS)
    @action(detail=True, methods=["get"])
    def suggestions(self, request, key=None):
        template = self._read(key)
        number = self.validated(PinQuerySerializer, request.query_params).get("version")
        version = version_get(template=template, number=number) if number else template.served_version
        return Response({"version": version.number, "suggestions": suggestions_for(version)})

    # --- search ----------------------------------------------------------------------------------
    @extend_schema(request=SearchSerializer, responses=TemplateSerializer(many=True))
    @action(detail=False, methods=["post"], filter_backends=[])
    def search(self, request):
        data = self.validated(SearchSerializer, request.data)
        filterset = TemplateFilter(data={**data["filters"], "search": data["query"]}, queryset=self.get_queryset())
        if not filterset.is_valid():
            raise ValidationFailed("Invalid filters.", details={"filters": filterset.errors})
        queryset = filterset.qs
        page = self.paginate_queryset(queryset)
        response = self.get_paginated_response(TemplateSerializer(page, many=True).data)
        if data["facets"]:
            response.data["facets"] = template_facets(queryset)
        return response

    def get_object(self):  # the default lookup is not used: reads go through template_resolve
        raise NotFound()
