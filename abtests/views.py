from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from abtests import services
from abtests.selectors import ab_test_get, ab_test_list
from abtests.serializers import (
    ABTestCreateSerializer,
    ABTestSerializer,
    ABTestStatusSerializer,
    MetricEventSerializer,
    SelectQuerySerializer,
)
from abtests.tasks import ab_test_analyze_task
from promptconfig.common.errors import Conflict, NotFound
from promptconfig.workspaces.viewsets import WorkspaceScopedViewSet

Selected = inline_serializer(
    "ABTestSelection",
    {"test_id": serializers.UUIDField(), "variant": serializers.CharField(), "template_id": serializers.CharField()},
)


class ABTestViewSet(mixins.ListModelMixin, WorkspaceScopedViewSet):
    """A/B tests of the caller's workspace."""

    serializer_class = ABTestSerializer
    filterset_fields = ["status"]
    lookup_value_regex = r"[^/]+"
    action_scopes = {"select": "read", "metrics": "read"}  # runtime calls, as the API contract says
    action_throttle_scopes = {"select": "runtime", "metrics": "runtime", "analyze": "expensive"}

    def get_queryset(self):
        return ab_test_list(workspace=self.workspace)

    def _test(self, pk):
        return ab_test_get(workspace=self.workspace, test_id=pk)

    def _fresh(self, test) -> dict:
        return ABTestSerializer(self._test(test.pk)).data

    @extend_schema(request=ABTestCreateSerializer, responses={201: ABTestSerializer})
    def create(self, request):
        data = self.validated(ABTestCreateSerializer, request.data)
        test = services.ab_test_create(workspace=self.workspace, actor=self.actor, **data)
        return Response(self._fresh(test), status=status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        return Response(ABTestSerializer(self._test(pk)).data)

    @extend_schema(request=ABTestStatusSerializer)
    def partial_update(self, request, pk=None):
        test = self._test(pk)
        data = self.validated(ABTestStatusSerializer, request.data)
        if "status" in data:  # a PATCH changes the fields it sends: none, nothing
            test = services.ab_test_set_status(test=test, status=data["status"], actor=self.actor)
            if test.status == test.Status.COMPLETED:  # its analysis records ab_test.completed with the winner
                ab_test_analyze_task.delay(str(test.pk))
        return Response(self._fresh(test))

    @extend_schema(
        parameters=[OpenApiParameter("user_id", SelectQuerySerializer.openapi_user_id, required=True)],
        responses=Selected,
    )
    @action(detail=True, methods=["get"])
    def select(self, request, pk=None):
        test = self._test(pk)
        user_id = self.validated(SelectQuerySerializer, request.query_params)["user_id"]
        if not test.is_running():
            raise Conflict(
                f"This A/B test is {'expired' if test.status == test.Status.ACTIVE else test.status}: it routes nobody."
            )
        variant = services.assignment_get_or_create(test=test, user_id=user_id)
        template = test.template_a if variant == "A" else test.template_b
        return Response({"test_id": str(test.pk), "variant": variant, "template_id": template.key})

    @extend_schema(request=MetricEventSerializer, responses={201: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def metrics(self, request, pk=None):
        test = self._test(pk)
        event = services.metric_record(test=test, **self.validated(MetricEventSerializer, request.data))
        body = {
            "test_id": str(test.pk),
            "user_id": event.user_id,
            "variant": event.variant,
            "metric": event.metric,
            "value": event.value,
            "recorded_at": event.created_at,
        }
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(responses=OpenApiTypes.OBJECT)
    @action(detail=True, methods=["get"])
    def results(self, request, pk=None):
        test = self._test(pk)
        if test.computed_at is None:  # never analysed yet: compute now rather than answer nothing
            test = services.ab_test_analyze(test_id=test.pk) or test
        return Response(results_body(test))

    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def analyze(self, request, pk=None):
        test = self._test(pk)
        ab_test_analyze_task.delay(str(test.pk))
        return Response({"test_id": str(test.pk), "queued": True}, status=status.HTTP_202_ACCEPTED)

    def get_object(self):  # reads go through the selectors
        raise NotFound()


def results_body(test) -> dict:
    return {"test_id": str(test.pk), "status": test.status, **(test.results or {}), "computed_at": test.computed_at}
