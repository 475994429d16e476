"""The workspace's append-only event log, and the webhook subscriptions that receive it."""

from django.db import models
from django.utils import timezone

from promptconfig.workspaces.models import Workspace


class Event(models.Model):
    """One state change, written in the transaction of the change itself: it exists exactly when the change
    committed. Never updated; deleted only by the retention job (EVENT_RETENTION_DAYS)."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=64)
    occurred_at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=200, blank=True, default="")
    subject_kind = models.CharField(max_length=32)
    subject_id = models.CharField(max_length=200)
    # The subject's row (a template's primary key: one key may name several languages and, after a
    # delete, a new template). Internal: histories read by it; the API shows `subject`.
    subject_pk = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)
    # Commit order: given after the event's transaction committed (services.events_sequence), so a reader
    # paging by it never skips an event that committed later with a smaller id. Null until then (not listed).
    position = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(fields=["id"], condition=models.Q(position__isnull=True), name="event_unsequenced"),
            models.Index(fields=["workspace", "position"], name="event_workspace_position"),
            models.Index(fields=["workspace", "subject_kind", "subject_id", "position"], name="event_subject"),
            models.Index(fields=["subject_kind", "subject_pk", "id"], name="event_subject_pk"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.type} {self.subject_kind}:{self.subject_id}"


class Webhook(models.Model):
    """A subscription: events whose type matches one of `events` are POSTed, signed, to `url`."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(max_length=2000)
    events = models.JSONField(default=list)  # type patterns: "template.published", "ab_test.*", "*"
    description = models.CharField(max_length=500, blank=True, default="")
    is_active = models.BooleanField(default=True)
    # The signing secret ("whsec_" + base64); the previous one keeps signing until previous_secret_expires_at.
    secret = models.CharField(max_length=100, editable=False)
    previous_secret = models.CharField(max_length=100, blank=True, default="", editable=False)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    consecutive_failures = models.PositiveIntegerField(default=0, editable=False)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True, editable=False)
    last_success_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"webhook {self.pk} -> {self.url}"


class WebhookDelivery(models.Model):
    """One attempt to deliver one event to one webhook. A failed attempt with retries left is followed by
    a pending one (attempt + 1) due at `next_retry_at`; a redelivery starts again at attempt 1."""

    class State(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"
        CANCELLED = "cancelled"  # never made: the webhook was disabled first

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.PositiveIntegerField(default=1)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True, default="")
    response_excerpt = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)  # when the attempt finished (either way)
    next_retry_at = models.DateTimeField(null=True, blank=True)  # pending: when due; failed: the next attempt
    # A worker holds an attempt until this time; a worker killed mid-attempt leaves it to the next one after.
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        indexes = [
            models.Index(fields=["webhook", "-id"], name="delivery_webhook"),
            models.Index(fields=["state", "next_retry_at"], name="delivery_due"),
        ]

    def __str__(self) -> str:
        return f"delivery {self.pk} of event {self.event_id} (attempt {self.attempt}, {self.state})"
