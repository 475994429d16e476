"""Writes to the event log and the webhook subscriptions. `record_event` is the one way any app records a
state change: in the caller's transaction, with the deliveries it owes, enqueued once the change commits."""

import base64
import secrets
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from promptconfig.common.errors import ValidationFailed
from promptconfig.events.models import Event, Webhook, WebhookDelivery
from promptconfig.events.ssrf import Unresolvable, UrlRefused, check_url
from promptconfig.events.types import EVENT_TYPES, matches, pattern_error
from promptconfig.workspaces.models import Workspace

SECRET_PREFIX = "whsec_"
WEBHOOK_ACTOR = "system:webhooks"
DELIVER_TASK = "promptconfig.events.tasks.webhook_deliver_task"
SEQUENCE_LOCK = 0x5043_4556  # "PCEV": the advisory lock of events_sequence


def enqueue_deliveries(ids: list[int], countdown: float = 0) -> None:
    """Hand deliveries to the worker (a lost message is found again by the periodic sweep). The task is named,
    not imported: promptconfig.events.tasks imports this module. Without a broker (tasks run eagerly, in the
    request) a delayed attempt is not run at once: the periodic sweep runs it when it is due."""
    if countdown and current_app.conf.task_always_eager:
        return
    for delivery_id in ids:
        current_app.signature(DELIVER_TASK, args=[delivery_id]).apply_async(
            countdown=countdown or None, queue=settings.WEBHOOK_QUEUE
        )


def events_sequence(limit: int = 1000) -> int:
    """Give committed events without a position the next positions, in id order, one sequencer at a time
    (an advisory lock): an event that commits later always gets a later position than any a reader has seen."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [SEQUENCE_LOCK])
        pending = list(Event.objects.filter(position__isnull=True).order_by("id")[:limit])
        if not pending:
            return 0
        last = Event.objects.aggregate(last=Max("position"))["last"] or 0
        for offset, event in enumerate(pending, start=1):
            event.position = last + offset
        Event.objects.bulk_update(pending, ["position"])
    return len(pending)


def _deliver_after_commit(ids: list[int], countdown: float = 0) -> None:
    if ids:  # robust: a broker outage is logged, never the caller's error (the sweep enqueues them later)
        transaction.on_commit(lambda: enqueue_deliveries(ids, countdown), robust=True)


def record_event(
    *,
    workspace: Workspace | int,
    type: str,
    actor: str,
    subject_kind: str,
    subject_id: Any,
    data: dict | None = None,
    subject_pk: int | None = None,
    only_webhook: Webhook | None = None,
) -> Event:
    """Append one event (in the caller's transaction) and a pending delivery for each active webhook whose
    patterns match it (only `only_webhook` for a `webhook.test`); the deliveries start once it commits."""
    if type not in EVENT_TYPES:
        raise ValueError(f"Unknown event type {type!r}")
    workspace_id = workspace if isinstance(workspace, int) else workspace.pk
    with transaction.atomic():
        event = Event.objects.create(
            workspace_id=workspace_id,
            type=type,
            actor=actor or "system",
            subject_kind=subject_kind,
            subject_id=str(subject_id),
            subject_pk=subject_pk,
            data=data or {},
        )
        if only_webhook is not None:
            targets = [only_webhook.pk]
        else:
            subscribed = Webhook.objects.filter(workspace_id=workspace_id, is_active=True).values_list("pk", "events")
            targets = [pk for pk, patterns in subscribed if any(matches(p, type) for p in patterns or ())]
        deliveries = WebhookDelivery.objects.bulk_create(
            [WebhookDelivery(webhook_id=pk, event=event, next_retry_at=event.occurred_at) for pk in targets]
        )
    if not any(callback is events_sequence for _, callback, _ in connection.run_on_commit):
        transaction.on_commit(events_sequence)  # once per transaction, however many events it records
    _deliver_after_commit([delivery.pk for delivery in deliveries])
    return event


# --- webhooks --------------------------------------------------------------------------------------
def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def _check(url: str | None, events: list[str] | None) -> None:
    details: dict[str, list[str]] = {}
    if url is not None:
        try:
            check_url(url)
        except Unresolvable:
            pass  # not an address at all now; each delivery resolves and checks it again
        except UrlRefused as exc:
            details["url"] = [str(exc)]
    if events is not None:
        errors = [error for error in map(pattern_error, events) if error]
        if not events:
            errors.append("Name at least one event type (or '*').")
        if errors:
            details["events"] = errors
    if details:
        raise ValidationFailed(f"Invalid input: {', '.join(details)}.", details=details)


def _record(webhook: Webhook, type: str, actor: str, **data: Any) -> None:
    record_event(
        workspace=webhook.workspace_id, type=type, actor=actor, subject_kind="webhook", subject_id=webhook.pk, data=data
    )


@transaction.atomic
def webhook_create(
    *, workspace: Workspace, actor: str, url: str, events: list[str], description: str = "", is_active: bool = True
) -> Webhook:
    """A new subscription; its `secret` is readable on the returned object this once (the API shows it once)."""
    _check(url, events)
    webhook = Webhook.objects.create(
        workspace=workspace,
        url=url,
        events=list(dict.fromkeys(events)),
        description=description,
        is_active=is_active,
        secret=new_secret(),
        created_by=actor,
    )
    _record(webhook, "webhook.created", actor, url=url, events=webhook.events)
    return webhook


@transaction.atomic
def webhook_update(*, webhook: Webhook, actor: str, **changes: Any) -> Webhook:
    """Change url, events, description or is_active. Re-activating clears the failure streak."""
    _check(changes.get("url"), changes.get("events"))
    if "events" in changes:
        changes["events"] = list(dict.fromkeys(changes["events"]))
    changed = [name for name, value in changes.items() if getattr(webhook, name) != value]
    if not changed:
        return webhook
    for name in changed:
        setattr(webhook, name, changes[name])
    fields = [*changed, "updated_at"]
    if "is_active" in changed and webhook.is_active:
        webhook.consecutive_failures, webhook.failing_since, webhook.disabled_at = 0, None, None
        fields += ["consecutive_failures", "failing_since", "disabled_at"]
    webhook.save(update_fields=fields)
    _record(webhook, "webhook.updated", actor, fields=sorted(changed))
    return webhook


@transaction.atomic
def webhook_delete(*, webhook: Webhook, actor: str) -> None:
    _record(webhook, "webhook.deleted", actor, url=webhook.url)
    webhook.delete()


@transaction.atomic
def webhook_rotate_secret(*, webhook: Webhook, actor: str) -> Webhook:
    """A new secret; the old one keeps signing (beside the new) for WEBHOOK_SECRET_OVERLAP_SECONDS."""
    webhook.previous_secret = webhook.secret
    webhook.previous_secret_expires_at = timezone.now() + timedelta(seconds=settings.WEBHOOK_SECRET_OVERLAP_SECONDS)
    webhook.secret = new_secret()
    webhook.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    _record(
        webhook, "webhook.secret_rotated", actor, previous_valid_until=webhook.previous_secret_expires_at.isoformat()
    )
    return webhook


@transaction.atomic
def webhook_send_test(*, webhook: Webhook, actor: str) -> Event:
    """A `webhook.test` event, delivered to this webhook only (active or not)."""
    return record_event(
        workspace=webhook.workspace_id,
        type="webhook.test",
        actor=actor,
        subject_kind="webhook",
        subject_id=webhook.pk,
        data={"message": "A test event from PromptConfig."},
        only_webhook=webhook,
    )


@transaction.atomic
def delivery_redeliver(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery's event again, now, as a new chain of attempts (the same `webhook-id`)."""
    again = WebhookDelivery.objects.create(
        webhook_id=delivery.webhook_id, event_id=delivery.event_id, next_retry_at=timezone.now()
    )
    _deliver_after_commit([again.pk])
    return again


def events_prune(*, now=None) -> tuple[int, int]:
    """Delete events older than EVENT_RETENTION_DAYS and deliveries older than WEBHOOK_DELIVERY_RETENTION_DAYS
    (in bounded batches); returns how many of each."""
    now = now or timezone.now()
    deliveries = _delete_batched(
        WebhookDelivery.objects.filter(created_at__lt=now - timedelta(days=settings.WEBHOOK_DELIVERY_RETENTION_DAYS))
    )
    events = _delete_batched(Event.objects.filter(occurred_at__lt=now - timedelta(days=settings.EVENT_RETENTION_DAYS)))
    return events, deliveries


def _delete_batched(queryset, batch: int = 5000, max_batches: int = 200) -> int:
    total = 0
    for _ in range(max_batches):
        ids = list(queryset.values_list("pk", flat=True)[:batch])
        if not ids:
            break
        queryset.model.objects.filter(pk__in=ids).delete()
        total += len(ids)
    return total
