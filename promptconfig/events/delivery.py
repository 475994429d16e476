"""One delivery attempt: claim it, sign the event (Standard Webhooks), POST it through the SSRF guard, record
the outcome, schedule the next attempt with exponential backoff and jitter, disable a webhook that keeps
failing. Idempotent: a redelivered task message finds its attempt claimed or finished and does nothing."""

import json
import random
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.utils.encoders import JSONEncoder
from standardwebhooks.webhooks import Webhook as Signer

from promptconfig.common import metrics
from promptconfig.events import ssrf
from promptconfig.events.models import Event, Webhook, WebhookDelivery
from promptconfig.events.services import WEBHOOK_ACTOR, _deliver_after_commit, record_event

State = WebhookDelivery.State
LEASE_MARGIN_SECONDS = 5


def event_body(event: Event) -> dict:
    """The event as the API and every delivery show it."""
    occurred = event.occurred_at.isoformat().replace("+00:00", "Z")
    return {
        "id": event.pk,
        "type": event.type,
        "occurred_at": occurred,
        "actor": event.actor,
        "subject": {"kind": event.subject_kind, "id": event.subject_id},
        "data": event.data,
    }


def signature_header(webhook: Webhook, msg_id: str, timestamp, body: str) -> str:
    """`v1,<sig>` with the current secret, and with the previous one too while it is in its overlap."""
    secrets = [webhook.secret]
    if (
        webhook.previous_secret
        and webhook.previous_secret_expires_at
        and webhook.previous_secret_expires_at > timestamp
    ):
        secrets.append(webhook.previous_secret)
    return " ".join(Signer(secret).sign(msg_id, timestamp, body) for secret in secrets)


def retry_delay(attempt: int) -> float | None:
    """Seconds before attempt `attempt + 1`, or None when `attempt` was the last: base * 2^(attempt-1), with
    +-WEBHOOK_RETRY_JITTER of jitter."""
    if attempt >= settings.WEBHOOK_MAX_ATTEMPTS:
        return None
    jitter = settings.WEBHOOK_RETRY_JITTER
    return settings.WEBHOOK_RETRY_BASE_SECONDS * 2 ** (attempt - 1) * random.uniform(1 - jitter, 1 + jitter)


@dataclass(frozen=True)
class Outcome:
    state: str  # delivered | failed | cancelled | skipped | locked
    retry_in: float | None = None  # `locked`: when the holder's lease ends


def _claim(delivery_id: int) -> tuple[bool, float | None]:
    """Take the attempt for WEBHOOK_TIMEOUT_SECONDS + a margin (a conditional UPDATE: one worker wins)."""
    now = timezone.now()
    lease = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS)
    free = Q(locked_until__isnull=True) | Q(locked_until__lt=now)
    claimed = WebhookDelivery.objects.filter(
        free, pk=delivery_id, state=State.PENDING, next_retry_at__lte=now + timedelta(seconds=1)
    ).update(locked_until=lease)
    if claimed:
        return True, None
    held = (
        WebhookDelivery.objects.filter(pk=delivery_id, state=State.PENDING)
        .values_list("locked_until", "next_retry_at")
        .first()
    )
    if held is None:
        return False, None  # finished (or gone): a duplicate message
    locked_until, due = held
    wait = max(locked_until or now, due or now) - now
    return False, max(wait.total_seconds(), 0) + 1


def delivery_attempt(*, delivery_id: int) -> Outcome:
    claimed, retry_in = _claim(delivery_id)
    if not claimed:
        return Outcome("locked" if retry_in is not None else "skipped", retry_in)
    delivery = WebhookDelivery.objects.select_related("webhook", "event").filter(pk=delivery_id).first()
    if delivery is None:  # its webhook was deleted meanwhile
        return Outcome("skipped")
    webhook, event = delivery.webhook, delivery.event
    if not webhook.is_active and event.type != "webhook.test":
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=State.CANCELLED, error="The webhook is disabled.", locked_until=None
        )
        return Outcome(State.CANCELLED)
    body = json.dumps(event_body(event), cls=JSONEncoder, separators=(",", ":"), ensure_ascii=False)
    now = timezone.now()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "PromptConfig-Webhooks/1",
        "webhook-id": str(event.pk),
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature_header(webhook, str(event.pk), now, body),
    }
    started = time.monotonic()
    try:
        target = ssrf.check_url(webhook.url)  # resolved again: the answer may have changed since the save
    except ssrf.UrlRefused as exc:
        answer, outcome = ssrf.Answer(None, "", f"Refused: {exc}"[:500], time.monotonic() - started), "refused"
    else:
        answer = ssrf.post(target, body.encode(), headers)
        outcome = _outcome(answer)
    metrics.webhook_deliveries_total.labels(outcome=outcome).inc()
    metrics.webhook_delivery_seconds.observe(answer.seconds)
    return Outcome(_finish(delivery, answer))


def _outcome(answer: ssrf.Answer) -> str:
    if answer.status_code is not None:
        return "delivered" if 200 <= answer.status_code < 300 else "http_error"
    return "timeout" if answer.error.startswith("Timed out") else "network_error"


@transaction.atomic
def _finish(delivery: WebhookDelivery, answer: ssrf.Answer) -> str:
    """Record the attempt; schedule the next one or count the failure against the webhook."""
    webhook = Webhook.objects.select_for_update().filter(pk=delivery.webhook_id).first()
    if webhook is None:  # deleted during the attempt, its delivery log with it
        return "skipped"
    now = timezone.now()
    ok = answer.status_code is not None and 200 <= answer.status_code < 300
    delivery.state = State.DELIVERED if ok else State.FAILED
    delivery.status_code = answer.status_code
    delivery.duration_ms = round(answer.seconds * 1000)
    delivery.error = answer.error or ("" if ok else f"HTTP {answer.status_code}")
    delivery.response_excerpt = answer.excerpt[: settings.WEBHOOK_EXCERPT_CHARS]
    delivery.delivered_at, delivery.locked_until, delivery.next_retry_at = now, None, None
    if ok:
        webhook.consecutive_failures, webhook.failing_since, webhook.last_success_at = 0, None, now
        webhook.save(update_fields=["consecutive_failures", "failing_since", "last_success_at"])
    elif webhook.is_active:
        delay = retry_delay(delivery.attempt)
        if delay is not None:
            delivery.next_retry_at = now + timedelta(seconds=delay)
            following = WebhookDelivery.objects.create(
                webhook=webhook,
                event_id=delivery.event_id,
                attempt=delivery.attempt + 1,
                next_retry_at=delivery.next_retry_at,
            )
            if delay < settings.WEBHOOK_SWEEP_SECONDS * 2:  # longer waits are picked up by the periodic sweep
                _deliver_after_commit([following.pk], countdown=delay)
        if delivery.attempt == 1:  # one more event in a row that this webhook failed to take
            webhook.consecutive_failures += 1
            webhook.failing_since = webhook.failing_since or now
            webhook.save(update_fields=["consecutive_failures", "failing_since"])
        _disable_if_failing(webhook, now)
    delivery.save()
    return delivery.state


def _disable_if_failing(webhook: Webhook, now) -> None:
    too_many = webhook.consecutive_failures >= settings.WEBHOOK_DISABLE_AFTER_FAILURES
    too_long = webhook.failing_since and now - webhook.failing_since >= timedelta(
        seconds=settings.WEBHOOK_DISABLE_AFTER_SECONDS
    )
    if not (too_many or too_long):
        return
    webhook.is_active, webhook.disabled_at = False, now
    webhook.save(update_fields=["is_active", "disabled_at", "updated_at"])
    WebhookDelivery.objects.filter(webhook=webhook, state=State.PENDING).exclude(locked_until__gt=now).update(
        state=State.CANCELLED, error="The webhook was disabled.", locked_until=None
    )
    record_event(
        workspace=webhook.workspace_id,
        type="webhook.disabled",
        actor=WEBHOOK_ACTOR,
        subject_kind="webhook",
        subject_id=webhook.pk,
        data={
            "url": webhook.url,
            "consecutive_failures": webhook.consecutive_failures,
            "failing_since": webhook.failing_since.isoformat() if webhook.failing_since else None,
            "reason": "consecutive_failures" if too_many else "failing_too_long",
        },
    )


def deliveries_due(limit: int = 500) -> list[int]:
    """Pending attempts that are due and held by nobody (lost messages, long backoffs)."""
    now = timezone.now()
    return list(
        WebhookDelivery.objects.filter(state=State.PENDING, next_retry_at__lte=now)
        .filter(Q(locked_until__isnull=True) | Q(locked_until__lt=now))
        .order_by("next_retry_at")
        .values_list("pk", flat=True)[:limit]
    )
