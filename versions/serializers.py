from rest_framework import serializers

from promptconfig.common.serializers import StrictBody
from templates_app.model_config import MODEL_ID, PROVIDER  # the same rule as a template's model_config
from versions.models import ProviderVersion


class EnsureVersionSerializer(StrictBody, serializers.Serializer):
    provider = serializers.RegexField(PROVIDER)
    model_id = serializers.RegexField(MODEL_ID, required=False)


class ProviderVersionSerializer(serializers.ModelSerializer):
    class Meta:
        model = ProviderVersion
        fields = [
            "provider",
            "model_id",
            "provider_version_key",
            "first_seen_at",
            "last_seen_at",
            "fingerprint_captured_at",
            "seen_count",
        ]
