"""`ensure-version`, `model-versions` and `drift` of a template (routes under /api/v1/templates/{key}/).

Drift lives here, not with the templates, because it reports provider drift beside the content drift."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from promptconfig.common.pagination import PageNumberPagination
from promptconfig.workspaces.viewsets import WorkspaceScopedMixin
from templates_app.models import PromptTemplate
from templates_app.review import content_drift
from templates_app.selectors import first_published_version, template_resolve, version_get
from templates_app.serializers import DriftQuerySerializer
from versions.models import ProviderVersion
from versions.serializers import EnsureVersionSerializer, ProviderVersionSerializer
from versions.services import ensure_version, provider_drift

LANGUAGE_PARAM = OpenApiParameter("language", str, description="Language variant (falls back de-AT -> de -> default)")
Ensured = inline_serializer(
    "EnsuredVersion",
    {
        "template_id": serializers.CharField(),
        "provider": serializers.CharField(),
        "model_id": serializers.CharField(),
        "provider_version_key": serializers.CharField(),
        "captured_at": serializers.DateTimeField(),
        "first_seen_at": serializers.DateTimeField(),
        "last_seen_at": serializers.DateTimeField(),
        "created": serializers.BooleanField(),
        "probed": serializers.BooleanField(),
    },
)


class TemplateVersionsView(WorkspaceScopedMixin, APIView):
    def template(self, key: str) -> PromptTemplate:
        """The template, read fresh from the database with its workspace (not the shared cached copy)."""
        resolved = template_resolve(
            workspace=self.workspace, key=key, language=self.request.query_params.get("language")
        )
        return PromptTemplate.objects.select_related("workspace", "served_version").get(pk=resolved.pk)


class EnsureVersionView(TemplateVersionsView):
    required_scope = "write"
    throttle_scope = "expensive"

    @extend_schema(request=EnsureVersionSerializer, responses={200: Ensured, 201: Ensured}, parameters=[LANGUAGE_PARAM])
    def post(self, request, key):
        template = self.template(key)
        ensured = ensure_version(template=template, **self.validated(EnsureVersionSerializer, request.data))
        record = ensured.record
        body = {
            "template_id": template.key,
            "provider": record.provider,
            "model_id": record.model_id,
            "provider_version_key": record.provider_version_key,
            "captured_at": record.last_seen_at,
            "first_seen_at": record.first_seen_at,
            "last_seen_at": record.last_seen_at,
            "created": ensured.created,
            "probed": ensured.probed,
        }
        return Response(body, status=status.HTTP_201_CREATED if ensured.created else status.HTTP_200_OK)


class ModelVersionsView(TemplateVersionsView):
    """The version rows, paginated like every list (`?page=`, `?page_size=`); the template's drift (one
    entry per provider and model with more than one key, so short) rides beside the page."""

    pagination_class = PageNumberPagination

    @extend_schema(
        parameters=[
            LANGUAGE_PARAM,
            OpenApiParameter("page", int, description="A page number within the paginated result set."),
            OpenApiParameter("page_size", int, description="Number of results to return per page (at most 200)."),
        ],
        responses=inline_serializer(
            "PaginatedModelVersions",
            {
                "count": serializers.IntegerField(),
                "next": serializers.URLField(allow_null=True),
                "previous": serializers.URLField(allow_null=True),
                "results": ProviderVersionSerializer(many=True),
                "template_id": serializers.CharField(),
                "drift": serializers.ListField(child=serializers.DictField()),
            },
        ),
    )
    def get(self, request, key):
        template = self.template(key)
        versions = ProviderVersion.objects.filter(template=template).order_by(
            "provider", "model_id", "-last_seen_at", "-pk"
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(versions, request, view=self)
        response = paginator.get_paginated_response(ProviderVersionSerializer(page, many=True).data)
        response.data.update(template_id=template.key, drift=provider_drift(template))
        return response


class DriftView(TemplateVersionsView):
    @extend_schema(
        parameters=[LANGUAGE_PARAM, OpenApiParameter("baseline", int)],
        responses=OpenApiTypes.OBJECT,
        operation_id="v1_templates_drift_retrieve",
    )
    def get(self, request, key):
        template = self.template(key)
        number = self.validated(DriftQuerySerializer, request.query_params).get("baseline")
        baseline = version_get(template=template, number=number) if number else first_published_version(template)
        return Response(
            {
                "template_id": template.key,
                "content": content_drift(baseline, template.served_version),
                "provider": provider_drift(template),
            }
        )
