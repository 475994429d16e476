"""The event log, webhook subscriptions (the secret shown once) and their delivery log in the admin. Writes go
through promptconfig.events.services, as the API's do."""

import json

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.utils.html import format_html

from promptconfig.common.admin import ReadOnlyAdmin, ReadOnlyInline, RecordAdmin, admin_actor
from promptconfig.events.models import Event, Webhook, WebhookDelivery
from promptconfig.events.services import (
    delivery_redeliver,
    webhook_create,
    webhook_rotate_secret,
    webhook_send_test,
    webhook_update,
)
from promptconfig.events.ssrf import Unresolvable, UrlRefused, check_url
from promptconfig.events.types import pattern_error


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = ["id", "occurred_at", "workspace", "type", "subject_kind", "subject_id", "actor"]
    list_filter = ["type", "subject_kind", "workspace"]
    search_fields = ["subject_id", "actor", "type"]
    date_hierarchy = "occurred_at"
    list_select_related = ["workspace"]
    fields = ["id", "workspace", "type", "occurred_at", "actor", "subject_kind", "subject_id", "data_display"]
    readonly_fields = fields
    list_per_page = 100

    @admin.display(description="data")
    def data_display(self, event: Event) -> str:
        return format_html("<pre>{}</pre>", json.dumps(event.data, indent=2, ensure_ascii=False))


class WebhookForm(forms.ModelForm):
    url = forms.URLField(max_length=2000, assume_scheme="https", widget=forms.URLInput(attrs={"size": 80}))
    event_types = forms.CharField(
        label="Events",
        help_text="Comma-separated event types or patterns: template.published, ab_test.*, * (every event).",
        widget=forms.TextInput(attrs={"size": 80}),
    )

    class Meta:
        model = Webhook
        fields = ["workspace", "url", "description", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["event_types"].initial = ", ".join(self.instance.events)

    def clean_event_types(self) -> list[str]:
        patterns = [part.strip() for part in self.cleaned_data["event_types"].split(",") if part.strip()]
        errors = [error for error in map(pattern_error, patterns) if error]
        if errors or not patterns:
            raise forms.ValidationError(errors or ["Name at least one event type."])
        return patterns

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        try:
            check_url(url)
        except Unresolvable:
            pass  # every delivery resolves and checks it again
        except UrlRefused as exc:
            raise forms.ValidationError(str(exc)) from None
        return url


class DeliveryInline(ReadOnlyInline):
    model = WebhookDelivery
    fields = ["created_at", "event", "attempt", "state", "status_code", "duration_ms", "error", "next_retry_at"]
    readonly_fields = fields
    ordering = ["-id"]
    verbose_name_plural = "Latest deliveries (the full log: Webhook deliveries)"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("event")


@admin.register(Webhook)
class WebhookAdmin(admin.ModelAdmin):
    form = WebhookForm
    list_display = ["id", "url", "workspace", "events_display", "is_active", "consecutive_failures", "last_success_at"]
    list_filter = ["is_active", "workspace"]
    search_fields = ["url", "description"]
    readonly_fields = ["consecutive_failures", "failing_since", "disabled_at", "last_success_at", "created_by"]
    actions = ["rotate_secret", "send_test"]
    inlines = [DeliveryInline]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "workspace"] if obj else self.readonly_fields

    def get_fields(self, request, obj=None):
        fields = ["workspace", "url", "event_types", "description", "is_active"]
        return [*fields, *self.readonly_fields] if obj else fields

    @admin.display(description="events")
    def events_display(self, webhook: Webhook) -> str:
        return ", ".join(webhook.events)

    def save_model(self, request, obj: Webhook, form, change: bool) -> None:
        values = {
            "url": form.cleaned_data["url"],
            "events": form.cleaned_data["event_types"],
            "description": form.cleaned_data.get("description", ""),
            "is_active": form.cleaned_data.get("is_active", True),
        }
        if change:
            fresh = Webhook.objects.get(pk=obj.pk)
            webhook_update(webhook=fresh, actor=admin_actor(request), **values)
            return
        created = webhook_create(workspace=obj.workspace, actor=admin_actor(request), **values)
        obj.pk, obj.secret, obj.created_at = created.pk, created.secret, created.created_at
        obj._state.adding = False
        self._show_secret(request, created)

    def _show_secret(self, request, webhook: Webhook) -> None:
        messages.warning(
            request,
            format_html(
                "Signing secret of webhook {} ({}): <code class='new-webhook-secret'>{}</code> — copy it now, it "
                "will not be shown again.",
                webhook.pk,
                webhook.url,
                webhook.secret,
            ),
        )

    @admin.action(description="Rotate the signing secret (the old one works 24 h more)", permissions=["change"])
    def rotate_secret(self, request, queryset) -> None:
        for webhook in queryset:
            with transaction.atomic():
                self._show_secret(request, webhook_rotate_secret(webhook=webhook, actor=admin_actor(request)))

    @admin.action(description="Send a test event", permissions=["change"])
    def send_test(self, request, queryset) -> None:
        for webhook in queryset:
            webhook_send_test(webhook=webhook, actor=admin_actor(request))
        self.message_user(request, f"Test event queued for {queryset.count()} webhook(s).")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(RecordAdmin):
    list_display = [
        "id",
        "webhook",
        "event_type",
        "attempt",
        "state",
        "status_code",
        "duration_ms",
        "error",
        "delivered_at",
        "next_retry_at",
    ]
    list_filter = ["state", "webhook"]
    search_fields = ["error", "event__type"]
    list_select_related = ["webhook", "event"]
    fields = [
        "webhook",
        "event",
        "attempt",
        "state",
        "status_code",
        "duration_ms",
        "error",
        "response_excerpt",
        "created_at",
        "delivered_at",
        "next_retry_at",
    ]
    readonly_fields = fields
    actions = ["redeliver"]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None and request.user.has_perm("events.change_webhookdelivery")  # the action, not edits

    @admin.display(description="event", ordering="event__type")
    def event_type(self, delivery: WebhookDelivery) -> str:
        return f"#{delivery.event_id} {delivery.event.type}"

    @admin.action(description="Redeliver the selected deliveries' events", permissions=["view"])
    def redeliver(self, request, queryset) -> None:
        for delivery in queryset:
            delivery_redeliver(delivery=delivery)
        self.message_user(request, f"Redelivery queued for {queryset.count()} delivery(ies).")
