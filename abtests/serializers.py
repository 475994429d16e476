import math

from django.core.validators import RegexValidator
from rest_framework import serializers

from abtests.models import ABTest
from promptconfig.common.openapi import NOT_BLANK
from promptconfig.common.serializers import RequestSerializer, StrictBody
from promptconfig.workspaces.models import SLUG_VALIDATOR
from templates_app.serializers import LANGUAGE_FIELD

METRIC_NAME = r"^[A-Za-z0-9_.-]{1,100}$"
# A metric value's largest magnitude: the analysis sums values and their squares over every participant, which
# must stay finite (1e308 once made every analysis of its test fail).
METRIC_VALUE_LIMIT = 1e12


class ABTestSerializer(serializers.ModelSerializer):
    test_id = serializers.UUIDField(source="id", read_only=True)
    template_a = serializers.CharField(source="template_a.key")
    template_b = serializers.CharField(source="template_b.key")
    language = serializers.CharField(source="template_a.language")
    version_a = serializers.IntegerField(source="version_a.number", allow_null=True, default=None)
    version_b = serializers.IntegerField(source="version_b.number", allow_null=True, default=None)
    participants = serializers.IntegerField()

    class Meta:
        model = ABTest
        fields = [
            "test_id",
            "name",
            "description",
            "status",
            "template_a",
            "template_b",
            "language",
            "version_a",
            "version_b",
            "traffic_split",
            "target_metrics",
            "confidence_level",
            "duration_days",
            "participants",
            "created_by",
            "created_at",
            "started_at",
            "expires_at",
            "completed_at",
        ]


class ShareField(serializers.FloatField):
    """A share of users strictly between 0 and 1."""

    openapi_schema = {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}


class ABTestCreateSerializer(StrictBody, serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    template_a = serializers.CharField(max_length=100, validators=[SLUG_VALIDATOR])
    template_b = serializers.CharField(max_length=100, validators=[SLUG_VALIDATOR])
    language = serializers.RegexField(required=False, **LANGUAGE_FIELD)
    version_a = serializers.IntegerField(required=False, min_value=1)
    version_b = serializers.IntegerField(required=False, min_value=1)
    traffic_split = ShareField(required=False, default=0.5)
    target_metrics = serializers.ListField(
        child=serializers.RegexField(METRIC_NAME),
        required=False,
        default=lambda: ["effectiveness"],
        min_length=1,
        max_length=20,
    )
    confidence_level = serializers.FloatField(required=False, default=0.95, min_value=0.5, max_value=0.999)
    duration_days = serializers.IntegerField(required=False, default=14, min_value=1, max_value=365)
    status = serializers.ChoiceField(choices=[ABTest.Status.DRAFT, ABTest.Status.ACTIVE], default=ABTest.Status.ACTIVE)

    def validate_traffic_split(self, value):
        if not 0 < value < 1:
            raise serializers.ValidationError("Must be between 0 and 1 (the share of users who get A), exclusive.")
        return value


class ABTestStatusSerializer(StrictBody, serializers.Serializer):
    status = serializers.ChoiceField(choices=ABTest.Status.choices, required=False)


class SelectQuerySerializer(serializers.Serializer):
    """`?user_id=`: 1 to 200 characters, not all space (as sent: not trimmed, so that the schema can say it)."""

    user_id = serializers.CharField(
        max_length=200, trim_whitespace=False, validators=[RegexValidator(NOT_BLANK, "May not be blank.")]
    )

    openapi_user_id = {"type": "string", "minLength": 1, "maxLength": 200, "pattern": NOT_BLANK}


class MetricEventSerializer(RequestSerializer):
    user_id = serializers.CharField(max_length=200)
    metric = serializers.RegexField(METRIC_NAME)
    value = serializers.FloatField(min_value=-METRIC_VALUE_LIMIT, max_value=METRIC_VALUE_LIMIT)

    def validate_value(self, value):
        if not math.isfinite(value):
            raise serializers.ValidationError("Must be a finite number.")
        return value
