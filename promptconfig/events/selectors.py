"""Reads of the event log and the webhooks, always within one workspace."""

from django.db.models import Count, Max, Q, QuerySet

from promptconfig.common.errors import NotFound
from promptconfig.events.models import Event, Webhook, WebhookDelivery
from promptconfig.events.services import events_sequence

State = WebhookDelivery.State


def event_list(
    *,
    workspace_id: int,
    type: str | None = None,
    subject_kind: str | None = None,
    subject_id: str | None = None,
    after: int | None = None,
) -> QuerySet[Event]:
    """Committed events in commit order (their `position`), filtered; `after` is an event id of this workspace."""
    events_sequence()  # events committed by a process that died before sequencing them
    events = Event.objects.filter(workspace_id=workspace_id, position__isnull=False)
    if type:
        events = events.filter(type__startswith=type[:-1]) if type.endswith(".*") else events.filter(type=type)
    if subject_kind:
        events = events.filter(subject_kind=subject_kind)
    if subject_id:
        events = events.filter(subject_id=subject_id)
    if after is not None:
        position = (
            Event.objects.filter(workspace_id=workspace_id, pk=after, position__isnull=False)
            .values_list("position", flat=True)
            .first()
        )
        if position is None:
            raise NotFound(f"No event {after} in this workspace (`after` must be the id of one of its events).")
        events = events.filter(position__gt=position)
    return events.order_by("position")


def subject_history(*, subject_kind: str, subject_pk: int) -> QuerySet[Event]:
    """Every event of one row (a template's history), oldest first, committed or not yet sequenced."""
    return Event.objects.filter(subject_kind=subject_kind, subject_pk=subject_pk).order_by("id")


def webhook_list(*, workspace_id: int) -> QuerySet[Webhook]:
    return Webhook.objects.filter(workspace_id=workspace_id).order_by("id")


def webhook_get(*, workspace_id: int, webhook_id) -> Webhook:
    webhook = webhook_list(workspace_id=workspace_id).filter(pk=webhook_id).first()
    if webhook is None:
        raise NotFound(f"No webhook {webhook_id}.")
    return webhook


def delivery_list(*, webhook: Webhook) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(webhook=webhook).select_related("event").order_by("-id")


def delivery_get(*, webhook: Webhook, delivery_id) -> WebhookDelivery:
    delivery = delivery_list(webhook=webhook).filter(pk=delivery_id).first()
    if delivery is None:
        raise NotFound(f"Webhook {webhook.pk} has no delivery {delivery_id}.")
    return delivery


def webhook_stats(*, workspace_id: int) -> list[dict]:
    """Per webhook: attempts delivered, failed and pending, the last success, when it was disabled."""
    rows = webhook_list(workspace_id=workspace_id).annotate(
        delivered=Count("deliveries", filter=Q(deliveries__state=State.DELIVERED)),
        failed=Count("deliveries", filter=Q(deliveries__state=State.FAILED)),
        pending=Count("deliveries", filter=Q(deliveries__state=State.PENDING)),
        last_attempt_at=Max("deliveries__delivered_at"),
    )
    return [
        {
            "webhook_id": row.pk,
            "url": row.url,
            "is_active": row.is_active,
            "delivered": row.delivered,
            "failed": row.failed,
            "pending": row.pending,
            "consecutive_failures": row.consecutive_failures,
            "last_success_at": row.last_success_at,
            "last_attempt_at": row.last_attempt_at,
            "disabled_at": row.disabled_at,
        }
        for row in rows
    ]
