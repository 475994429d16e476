from rest_framework import serializers

from promptconfig.common.serializers import StrictBody
from versions.models import ProviderVersion

PROVIDER = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
MODEL_ID = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}$"  # no '/': some providers put it in a URL path


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
