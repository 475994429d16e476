"""Runtime requests (generate, batch, generate-prompt, prompt-data, feedback, cache control), prompt records,
and the analytics answers' shapes (for the OpenAPI schema)."""

import math
import re

from django.conf import settings
from rest_framework import serializers

from abtests.serializers import METRIC_VALUE_LIMIT
from generation.models import Generation
from promptconfig.common.serializers import RequestSerializer, StrictBody
from promptconfig.workspaces.models import SLUG_VALIDATOR
from templates_app.serializers import LANGUAGE_FIELD, ObjectField


class TargetSerializer(RequestSerializer):
    """Which template a runtime call is for: by key or node, in a language, optionally a pinned version or label."""

    user_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    template_id = serializers.CharField(max_length=100, required=False, validators=[SLUG_VALIDATOR])
    node_name = serializers.CharField(min_length=1, max_length=100, required=False)
    language = serializers.RegexField(required=False, **LANGUAGE_FIELD)
    version = serializers.IntegerField(required=False, min_value=1)
    label = serializers.RegexField(r"^[a-z0-9][a-z0-9_-]{0,63}$", required=False)

    def validate(self, attrs):
        if not attrs.get("template_id") and not attrs.get("node_name"):
            raise serializers.ValidationError({"template_id": ["Give template_id or node_name."]})
        if attrs.get("template_id") and attrs.get("node_name"):  # which would win is no rule a caller should guess
            raise serializers.ValidationError({"node_name": ["Give template_id or node_name, not both."]})
        if attrs.get("version") is not None and attrs.get("label"):
            raise serializers.ValidationError({"label": ["Give version or label, not both."]})
        return attrs


class GenerateRequestSerializer(TargetSerializer):
    context = ObjectField(required=False, default=dict)
    custom_variables = ObjectField(required=False, default=dict)


class GeneratePromptSerializer(RequestSerializer):
    user_id = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    node_name = serializers.CharField(min_length=1, max_length=100)
    context = ObjectField(required=False, default=dict)


class PromptDataRequestSerializer(TargetSerializer):
    pass


MAX_BATCH = 100


class BatchRequestSerializer(RequestSerializer):
    # Any item, null too, is validated on its own: an invalid one answers its own error in place.
    requests = serializers.ListField(
        child=serializers.JSONField(allow_null=True), allow_empty=False, max_length=MAX_BATCH
    )


METRIC_NAME = r"^[a-z][a-z0-9_]{0,63}$"


class MetricsField(serializers.DictField):
    """`{name: number}`: the schema states the name rule (`propertyNames`) and the count limit."""

    @property
    def openapi_schema(self) -> dict:
        return {
            "type": "object",
            "propertyNames": {"pattern": METRIC_NAME},
            "additionalProperties": {"type": "number", "minimum": -METRIC_VALUE_LIMIT, "maximum": METRIC_VALUE_LIMIT},
            "maxProperties": settings.FEEDBACK_MAX_METRICS,
        }


class FeedbackSerializer(StrictBody, serializers.Serializer):
    rating = serializers.IntegerField(required=False, min_value=1, max_value=5)
    effectiveness_score = serializers.FloatField(required=False, min_value=0, max_value=1)
    metrics = MetricsField(
        child=serializers.FloatField(),
        required=False,
        default=dict,
        help_text="at most FEEDBACK_MAX_METRICS (20) names like `completion_rate` ([a-z][a-z0-9_]{0,63})",
    )

    def validate_metrics(self, metrics: dict[str, float]) -> dict[str, float]:
        if len(metrics) > settings.FEEDBACK_MAX_METRICS:
            raise serializers.ValidationError(f"At most {settings.FEEDBACK_MAX_METRICS} metrics per feedback.")
        for name, value in metrics.items():
            if not re.fullmatch(METRIC_NAME, name):
                raise serializers.ValidationError(f"'{name[:64]}' is not a metric name: [a-z][a-z0-9_]{{0,63}}.")
            if not math.isfinite(value) or abs(value) > METRIC_VALUE_LIMIT:
                raise serializers.ValidationError(
                    f"Metric '{name}' needs a finite value within ±{METRIC_VALUE_LIMIT:g}."
                )
        return metrics

    def validate(self, attrs):
        if "rating" not in attrs and "effectiveness_score" not in attrs and not attrs["metrics"]:
            raise serializers.ValidationError({"rating": ["Send a rating, an effectiveness_score or metrics."]})
        return attrs


class GenerationSerializer(serializers.ModelSerializer):
    prompt_id = serializers.UUIDField(source="id")
    generated_prompt = serializers.CharField(source="text")
    template_used = serializers.CharField(source="template_key")
    template_version = serializers.IntegerField(source="version.number")
    variables_applied = serializers.JSONField(source="variables")
    ab_test = serializers.SerializerMethodField()
    feedback = serializers.SerializerMethodField()

    class Meta:
        model = Generation
        fields = [
            "prompt_id",
            "generated_prompt",
            "template_used",
            "template_version",
            "language",
            "user_id",
            "context",
            "variables_applied",
            "ab_test",
            "cache_key",
            "cache_hit",
            "latency_ms",
            "created_at",
            "expires_at",
            "feedback",
        ]

    def get_ab_test(self, record: Generation) -> dict | None:
        return {"test_id": record.ab_test_id, "variant": record.ab_variant} if record.ab_test_id else None

    def get_feedback(self, record: Generation) -> dict | None:
        if record.feedback_at is None:
            return None
        return {
            "rating": record.rating,
            "effectiveness_score": record.effectiveness_score,
            "metrics": record.feedback_metrics,
            "at": record.feedback_at,
        }


class CacheInvalidateSerializer(StrictBody, serializers.Serializer):
    pattern = serializers.RegexField(
        r"^(\*|templates|profiles|prompts|nodes|versions)(:[A-Za-z0-9_*?.:-]*)?$",
        max_length=200,
        error_messages={"invalid": "Unknown namespace or characters."},
        help_text="`<namespace>:<glob>` (namespaces templates, profiles, prompts, nodes, versions) or `*`",
    )


class CacheWarmupSerializer(StrictBody, serializers.Serializer):
    templates = serializers.ListField(
        child=serializers.CharField(max_length=100, validators=[SLUG_VALIDATOR]), required=False, max_length=1000
    )


# --- analytics ---------------------------------------------------------------------------------
class CacheSerializer(serializers.Serializer):
    hits = serializers.IntegerField()
    misses = serializers.IntegerField()
    hit_rate = serializers.FloatField(allow_null=True, help_text="hits / generations, 0-1; null without any")


class AverageSerializer(serializers.Serializer):
    average = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField(help_text="how many generations have a value")


class TemplateCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())


class GenerationCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    last_24h = serializers.IntegerField()


class TopTemplateSerializer(serializers.Serializer):
    key = serializers.CharField()
    language = serializers.CharField()
    name = serializers.CharField()
    generations = serializers.IntegerField()
    average_rating = serializers.FloatField(allow_null=True)


class SummarySerializer(serializers.Serializer):
    templates = TemplateCountsSerializer()
    generations = GenerationCountsSerializer()
    cache = CacheSerializer()
    rating = AverageSerializer()
    effectiveness = AverageSerializer()
    top_templates = TopTemplateSerializer(many=True)


class VersionUsageSerializer(serializers.Serializer):
    language = serializers.CharField()
    version = serializers.IntegerField()
    generations = serializers.IntegerField()
    average_rating = serializers.FloatField(allow_null=True)
    average_effectiveness = serializers.FloatField(allow_null=True)


class DailySerializer(serializers.Serializer):
    date = serializers.DateField()
    generations = serializers.IntegerField()


class TemplateGenerationsSerializer(GenerationCountsSerializer):
    by_version = VersionUsageSerializer(many=True)
    daily = DailySerializer(many=True, help_text="the last 30 days (UTC), today last")


class TemplateAnalyticsSerializer(serializers.Serializer):
    key = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    generations = TemplateGenerationsSerializer()
    rating = AverageSerializer()
    effectiveness = AverageSerializer()
    cache = CacheSerializer()


class BucketSerializer(serializers.Serializer):
    bucket = serializers.DateTimeField(help_text="start of the UTC hour or day")
    generations = serializers.IntegerField()


class UsageSerializer(serializers.Serializer):
    to = serializers.DateTimeField(help_text="where the series ends (exclusive): `to`, or now")
    series = BucketSerializer(many=True, help_text="zero-filled, oldest first; empty when `from` is not before `to`")

    def get_fields(self):
        start = serializers.DateTimeField(
            help_text="where the series starts: `from`, or the default window's start, or the start of the newest "
            "1000 buckets when the range asks for more"
        )
        return {"from": start, **super().get_fields()}  # `from` is a Python keyword
