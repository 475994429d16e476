from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from promptconfig.common.errors import NotFound
from promptconfig.events import selectors, services
from promptconfig.events.serializers import (
    DeliverySerializer,
    EventPageSerializer,
    EventQuerySerializer,
    EventSerializer,
    WebhookSecretSerializer,
    WebhookSerializer,
    WebhookStatsSerializer,
    WebhookUpdateSerializer,
)
from promptconfig.workspaces.viewsets import WorkspaceScopedMixin, WorkspaceScopedViewSet

ACCEPTED = {"type": "object", "properties": {"queued": {"type": "boolean"}, "delivery_ids": {"type": "array"}}}


class EventListView(WorkspaceScopedMixin, GenericAPIView):
    """The workspace's event log (read scope), oldest first, paged by a cursor that new events never disturb."""

    required_scope = "read"
    pagination_class = None
    filter_backends = []
    serializer_class = EventSerializer

    @extend_schema(parameters=[EventQuerySerializer], responses=EventPageSerializer, operation_id="v1_events_list")
    def get(self, request):
        query = self.validated(EventQuerySerializer, request.query_params)
        size = query.pop("page_size")
        events = list(selectors.event_list(workspace_id=self.workspace.pk, **query)[: size + 1])
        more = len(events) > size
        events = events[:size]
        next_url = None
        if more:
            next_url = replace_query_param(request.build_absolute_uri(), "after", events[-1].pk)
        return Response({"next": next_url, "results": EventSerializer(events, many=True).data})


class WebhookViewSet(WorkspaceScopedViewSet):
    """Webhook subscriptions of the caller's workspace (admin scope)."""

    required_scope = "admin"
    serializer_class = WebhookSerializer
    lookup_value_regex = r"[0-9]{1,18}"
    filter_backends = []

    def get_queryset(self):
        return selectors.webhook_list(workspace_id=self.workspace.pk if self.workspace else 0)

    def _webhook(self, pk) -> object:
        return selectors.webhook_get(workspace_id=self.workspace.pk, webhook_id=pk)

    def list(self, request):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(WebhookSerializer(page, many=True).data)

    @extend_schema(request=WebhookSerializer, responses={201: WebhookSecretSerializer})
    def create(self, request):
        data = self.validated(WebhookSerializer, request.data)
        webhook = services.webhook_create(workspace=self.workspace, actor=self.actor, **data)
        return Response(WebhookSecretSerializer(webhook).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, pk=None):
        return Response(WebhookSerializer(self._webhook(pk)).data)

    @extend_schema(request=WebhookUpdateSerializer, responses=WebhookSerializer)
    def partial_update(self, request, pk=None):
        data = self.validated(WebhookUpdateSerializer, request.data, partial=True)
        with transaction.atomic():
            webhook = services.webhook_update(webhook=self._webhook(pk), actor=self.actor, **data)
        return Response(WebhookSerializer(webhook).data)

    def destroy(self, request, pk=None):
        services.webhook_delete(webhook=self._webhook(pk), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=WebhookSecretSerializer)
    @action(detail=True, methods=["post"], url_path="rotate-secret")
    def rotate_secret(self, request, pk=None):
        webhook = services.webhook_rotate_secret(webhook=self._webhook(pk), actor=self.actor)
        return Response(WebhookSecretSerializer(webhook).data)

    @extend_schema(request=None, responses={202: EventSerializer})
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        event = services.webhook_send_test(webhook=self._webhook(pk), actor=self.actor)
        return Response(EventSerializer(event).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses=DeliverySerializer(many=True))
    @action(detail=True, methods=["get"])
    def deliveries(self, request, pk=None):
        page = self.paginate_queryset(selectors.delivery_list(webhook=self._webhook(pk)))
        return self.get_paginated_response(DeliverySerializer(page, many=True).data)

    @extend_schema(request=None, responses={202: DeliverySerializer})
    @action(detail=True, methods=["post"], url_path=r"deliveries/(?P<delivery_id>[0-9]{1,18})/redeliver")
    def redeliver(self, request, pk=None, delivery_id=None):
        delivery = selectors.delivery_get(webhook=self._webhook(pk), delivery_id=delivery_id)
        again = services.delivery_redeliver(delivery=delivery)
        again.event = delivery.event
        return Response(DeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses=WebhookStatsSerializer(many=True), parameters=[OpenApiParameter("page", int, exclude=True)]
    )
    @action(detail=False, methods=["get"], pagination_class=None)
    def stats(self, request):
        rows = selectors.webhook_stats(workspace_id=self.workspace.pk)
        return Response(WebhookStatsSerializer(rows, many=True).data)

    def get_object(self):
        raise NotFound()
