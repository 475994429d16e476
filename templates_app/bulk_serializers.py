"""Request and answer shapes of bulk jobs, export and import."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from promptconfig.common.serializers import StrictBody
from templates_app.bulk import MAX_ITEMS
from templates_app.exchange import FORMATS, VERSIONS_MODES
from templates_app.models import BulkJob


class BulkRequestSerializer(StrictBody, serializers.Serializer):
    operation = serializers.ChoiceField(choices=BulkJob.Operation.choices)
    items = serializers.ListField(
        child=serializers.DictField(),
        allow_empty=False,
        max_length=MAX_ITEMS,
        help_text=f"At most {MAX_ITEMS}. Per operation: `create` a POST /templates body; `update_tags` "
        '`{"key", "language"?, "add": [...], "remove": [...]}`; `set_lifecycle` `{"key", "language"?, "status", '
        '"reason"?}`; `publish` `{"key", "language"?, "version"}`; `delete` `{"key", "language"?}`.',
    )
    dry_run = serializers.BooleanField(required=False, default=False)

    def validate_items(self, items):
        if len(items) > MAX_ITEMS:
            raise serializers.ValidationError(f"At most {MAX_ITEMS} items a job (got {len(items)}).")
        return items


class BulkQueuedSerializer(serializers.Serializer):
    job_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=BulkJob.Status.choices)


class BulkItemErrorSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField()


class BulkResultSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    key = serializers.CharField()
    language = serializers.CharField()
    ok = serializers.BooleanField()
    error = BulkItemErrorSerializer(allow_null=True)


class BulkJobSerializer(serializers.ModelSerializer):
    progress = serializers.FloatField(min_value=0, max_value=1)
    results = serializers.SerializerMethodField()

    class Meta:
        model = BulkJob
        fields = [
            "id",
            "operation",
            "dry_run",
            "status",
            "total",
            "done",
            "failed",
            "progress",
            "results",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(BulkResultSerializer(many=True))
    def get_results(self, job: BulkJob) -> list[dict]:
        """Every processed item, in item order (the items are prefetched in that order)."""
        return [
            {"index": item.index, "key": item.key, "language": item.language, "ok": item.ok, "error": item.error}
            for item in job.items.all()
            if item.ok is not None
        ]


class ExportQuerySerializer(serializers.Serializer):
    templates = serializers.CharField(required=False, allow_blank=True, help_text="comma list of keys")
    versions = serializers.ChoiceField(choices=VERSIONS_MODES, required=False, default="served")
    format = serializers.ChoiceField(choices=FORMATS, required=False, default="yaml")


class ImportQuerySerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(required=False, default=False)


class PlanRowSerializer(serializers.Serializer):
    key = serializers.CharField()
    language = serializers.CharField()
    action = serializers.ChoiceField(choices=["create", "new_version", "unchanged", "conflict"])
    reason = serializers.CharField(required=False)


class ImportAnswerSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField()
    applied = serializers.BooleanField()
    plan = PlanRowSerializer(many=True)
