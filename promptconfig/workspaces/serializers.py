from rest_framework import serializers

from promptconfig.common.serializers import StrictBody
from promptconfig.workspaces.models import ApiKey


class ApiKeySerializer(StrictBody, serializers.ModelSerializer):
    is_active = serializers.BooleanField(read_only=True)
    scope = serializers.ChoiceField(
        choices=ApiKey.Scope.choices, default=ApiKey.Scope.READ, help_text="default `read`, the least privilege"
    )

    class Meta:
        model = ApiKey
        fields = ["id", "name", "prefix", "scope", "is_active", "created_at", "last_used_at", "revoked_at"]
        read_only_fields = ["id", "prefix", "created_at", "last_used_at", "revoked_at"]


class ApiKeyCreatedSerializer(ApiKeySerializer):
    """The one response that carries the plaintext key."""

    key = serializers.CharField(read_only=True)

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "key"]
