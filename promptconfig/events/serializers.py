from django.core.validators import RegexValidator
from rest_framework import serializers

from promptconfig.common.serializers import StrictBody
from promptconfig.events.models import Webhook, WebhookDelivery
from promptconfig.events.types import EVENT_TYPES, PREFIXES, pattern_error

PATTERNS = ["*", *(f"{prefix}.*" for prefix in PREFIXES), *sorted(EVENT_TYPES)]

TYPE_FILTER_HELP = "an event type, or `<kind>.*` (`template.*`): " + ", ".join(f"`{p}.*`" for p in PREFIXES)


class SubjectSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="template, profile, ab_test, api_key or webhook")
    id = serializers.CharField(help_text="a template's key, a profile's user_id, an A/B test's or API key's id…")


class EventSerializer(serializers.Serializer):
    """The event as the log and every webhook delivery show it."""

    id = serializers.IntegerField()
    type = serializers.ChoiceField(choices=sorted(EVENT_TYPES))
    occurred_at = serializers.DateTimeField()
    actor = serializers.CharField(help_text="`api:<key name>`, `admin:<user>` or `system:<task>`")
    subject = SubjectSerializer(source="*")
    data = serializers.DictField(help_text="what changed; depends on the type")

    def to_representation(self, event):
        from promptconfig.events.delivery import event_body

        return event_body(event)


class EventQuerySerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=PATTERNS, required=False, allow_blank=True, help_text=TYPE_FILTER_HELP)
    subject_kind = serializers.CharField(required=False, allow_blank=True, max_length=32)
    subject_id = serializers.CharField(required=False, allow_blank=True, max_length=200)
    after = serializers.IntegerField(required=False, min_value=1, help_text="an event id: the events after it")
    page_size = serializers.IntegerField(required=False, min_value=1, max_value=200, default=50)

    def validate_type(self, value: str) -> str:
        return "" if value == "*" else value  # empty or `*`: no filter


class PatternsField(serializers.ListField):
    child = serializers.CharField(max_length=64)
    openapi_schema = {
        "type": "array",
        "items": {"type": "string", "enum": PATTERNS},
        "minItems": 1,
        "maxItems": 50,
        "description": 'event types or patterns: `"template.published"`, `"ab_test.*"`, `"*"`',
    }

    def __init__(self, **kwargs):
        super().__init__(min_length=1, max_length=50, **kwargs)

    def to_internal_value(self, data):
        patterns = super().to_internal_value(data)
        errors = [error for error in map(pattern_error, patterns) if error]
        if errors:
            raise serializers.ValidationError(errors)
        return patterns


PORT = r"(6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}|[1-5][0-9]{4}|[0-9]{1,4})"
URL_PATTERN = r"^https?://[A-Za-z0-9._~-]{1,253}(:" + PORT + r")?([/?#][\x21-\x7e]*)?$"


class UrlField(serializers.CharField):
    """An http(s) URL with an ASCII host name or IPv4 address (IPv6 targets by name: AAAA records); where it may
    point is the SSRF guard's call."""

    def __init__(self, **kwargs):
        super().__init__(max_length=2000, validators=[RegexValidator(URL_PATTERN, "Enter an http(s) URL.")], **kwargs)


class WebhookSerializer(StrictBody, serializers.ModelSerializer):
    url = UrlField(help_text="http(s) URL; must not resolve to a loopback, private or other non-public address")
    events = PatternsField(help_text='event types or patterns: `"template.published"`, `"ab_test.*"`, `"*"`')
    description = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    is_active = serializers.BooleanField(required=False, default=True)

    class Meta:
        model = Webhook
        fields = [
            "id",
            "url",
            "events",
            "description",
            "is_active",
            "consecutive_failures",
            "disabled_at",
            "last_success_at",
            "previous_secret_expires_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [name for name in fields if name not in ("url", "events", "description", "is_active")]


class WebhookUpdateSerializer(WebhookSerializer):
    url = UrlField(required=False)
    events = PatternsField(required=False)
    description = serializers.CharField(max_length=500, required=False, allow_blank=True)
    is_active = serializers.BooleanField(required=False)


class WebhookSecretSerializer(WebhookSerializer):
    """A create's or a rotation's answer: the one time the signing secret is shown."""

    secret = serializers.CharField(read_only=True, help_text="`whsec_…`: shown this once; verify signatures with it")

    class Meta(WebhookSerializer.Meta):
        fields = [*WebhookSerializer.Meta.fields, "secret"]


class DeliverySerializer(serializers.ModelSerializer):
    event_id = serializers.IntegerField()
    event_type = serializers.CharField(source="event.type")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event_id",
            "event_type",
            "attempt",
            "state",
            "status_code",
            "duration_ms",
            "error",
            "response_excerpt",
            "delivered_at",
            "next_retry_at",
            "created_at",
        ]
        read_only_fields = fields


class WebhookStatsSerializer(serializers.Serializer):
    webhook_id = serializers.IntegerField()
    url = serializers.CharField()
    is_active = serializers.BooleanField()
    delivered = serializers.IntegerField(help_text="attempts answered with 2xx")
    failed = serializers.IntegerField(help_text="attempts that failed (a retry may follow)")
    pending = serializers.IntegerField(help_text="attempts waiting to be made")
    consecutive_failures = serializers.IntegerField(help_text="events failed in a row since the last success")
    last_success_at = serializers.DateTimeField(allow_null=True)
    last_attempt_at = serializers.DateTimeField(allow_null=True)
    disabled_at = serializers.DateTimeField(allow_null=True)


class EventPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="the next page (`after` = the last event here), or null")
    results = EventSerializer(many=True)
