from rest_framework import serializers

from promptconfig.common.openapi import SPACE
from promptconfig.common.serializers import StrictBody
from promptconfig.workspaces.models import SLUG_VALIDATOR
from templates_app.filters import ORDERINGS
from templates_app.model_config import MODEL_ID, PROVIDER, model_config_error
from templates_app.models import PromptTemplate, TemplateRelationship, TemplateVersion
from templates_app.refinements import proposal_diff

# A tag: 1-64 characters, no comma, no leading or trailing space (the characters str.strip() removes).
TAG = rf"^[^,{SPACE}]([^,]{{0,62}}[^,{SPACE}])?\Z"
LANGUAGE_FIELD = {"max_length": 16, "regex": r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"}


class ModelConfigField(serializers.JSONField):
    """`{"provider", "model", "params"}` or null."""

    openapi_schema = {
        "type": "object",
        "properties": {
            "provider": {"type": "string", "pattern": PROVIDER.replace(r"\A", "^").replace(r"\Z", "$")},
            "model": {"type": "string", "pattern": MODEL_ID.replace(r"\A", "^").replace(r"\Z", "$")},
            "params": {"type": "object", "additionalProperties": True},
        },
        "required": ["provider", "model"],
        "additionalProperties": False,
    }

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        error = model_config_error(data)
        if error:
            raise serializers.ValidationError(error)
        if data is None:
            return None
        return {"provider": data["provider"], "model": data["model"], "params": data.get("params", {})}


class ObjectField(serializers.JSONField):
    openapi_schema = {"type": "object", "additionalProperties": True}  # any JSON object

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if data is not None and not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return data


def _labels_of(template: PromptTemplate) -> dict[str, int]:
    labels = {label.name: label.version.number for label in template.labels.all()}
    labels["latest"] = template.latest_version_number
    return labels


class TemplateSerializer(serializers.ModelSerializer):
    """The template representation (read side)."""

    id = serializers.CharField(source="key", read_only=True)
    template = serializers.CharField(source="served_version.body", read_only=True)
    variables = serializers.ListField(source="served_version.all_variables", read_only=True)
    variable_schema = serializers.JSONField(source="served_version.variable_schema", read_only=True)
    model_config = serializers.JSONField(source="served_version.model_config", read_only=True)
    version = serializers.IntegerField(source="served_version.number", read_only=True)
    latest_version = serializers.IntegerField(source="latest_version_number", read_only=True)
    labels = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()

    class Meta:
        model = PromptTemplate
        fields = [
            "id",
            "key",
            "name",
            "category",
            "description",
            "language",
            "template",
            "variables",
            "variable_schema",
            "metadata",
            "tags",
            "priority",
            "model_config",
            "node_name",
            "status",
            "is_active",
            "version",
            "latest_version",
            "labels",
            "usage_count",
            "success_rate",
            "average_rating",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    def get_labels(self, template: PromptTemplate) -> dict[str, int]:
        return _labels_of(template)

    def get_tags(self, template: PromptTemplate) -> list[str]:
        return sorted(tag.name for tag in template.tags.all())


class SaveWarningSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()


class TemplateSavedSerializer(TemplateSerializer):
    """A create's or update's answer: the representation, and warnings about the saved body."""

    warnings = SaveWarningSerializer(many=True, read_only=True)

    class Meta(TemplateSerializer.Meta):
        fields = [*TemplateSerializer.Meta.fields, "warnings"]
        read_only_fields = fields


class TemplateWriteSerializer(StrictBody, serializers.Serializer):
    """What a create (POST) or update (PUT/PATCH) may send: also the representation as a GET gave it, whose
    read-only fields are ignored (and `key`, `language`, `status` accepted on an update while unchanged)."""

    also_accepted = frozenset(TemplateSavedSerializer.Meta.fields)

    key = serializers.CharField(max_length=100, required=False, validators=[SLUG_VALIDATOR])
    name = serializers.CharField(max_length=200)
    language = serializers.RegexField(required=False, **LANGUAGE_FIELD)
    template = serializers.CharField(trim_whitespace=False, allow_blank=True)
    variables = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100), required=False, max_length=200
    )
    variable_schema = ObjectField(required=False, allow_null=True)
    model_config = ModelConfigField(required=False, allow_null=True)
    category = serializers.CharField(max_length=100, required=False, allow_blank=True)
    description = serializers.CharField(required=False, allow_blank=True)
    metadata = ObjectField(required=False)
    tags = serializers.ListField(
        child=serializers.RegexField(
            TAG,
            trim_whitespace=False,
            error_messages={"invalid": "1 to 64 characters, no comma, no space at either end."},
        ),
        required=False,
        max_length=50,
    )
    priority = serializers.IntegerField(required=False, min_value=-1_000_000, max_value=1_000_000)
    node_name = serializers.RegexField(r"^[A-Za-z0-9_.:-]{0,100}$", required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=PromptTemplate.Status.choices, required=False)
    is_active = serializers.BooleanField(required=False)
    change_note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    publish = serializers.BooleanField(required=False, default=True)

    def validate(self, attrs):
        if self.instance is not None:
            for field in ("key", "language", "status"):
                if field in attrs and attrs.pop(field) != getattr(self.instance, field):
                    hint = " (use PUT /lifecycle)" if field == "status" else ""
                    raise serializers.ValidationError({field: [f"Cannot be changed by an update{hint}."]})
        else:
            attrs.pop("publish", None)
            if attrs.get("status") == PromptTemplate.Status.ARCHIVED:
                raise serializers.ValidationError({"status": ["A template cannot be created archived."]})
        if attrs.get("metadata") is None:
            attrs.pop("metadata", None)
        return attrs


class VersionSerializer(serializers.ModelSerializer):
    template = serializers.CharField(source="body", read_only=True)
    variables = serializers.ListField(source="all_variables", read_only=True)
    declared_variables = serializers.ListField(source="variables", read_only=True)
    labels = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()

    class Meta:
        model = TemplateVersion
        fields = [
            "number",
            "template",
            "variables",
            "declared_variables",
            "variable_schema",
            "model_config",
            "metadata",
            "includes",
            "change_note",
            "created_by",
            "created_at",
            "first_published_at",
            "labels",
            "history",
        ]
        read_only_fields = fields

    def get_labels(self, version: TemplateVersion) -> list[str]:
        names = [label.name for label in version.labels.all()]
        if version.number == version.template.latest_version_number:
            names.append("latest")
        return sorted(names)

    def get_history(self, version: TemplateVersion) -> list[dict]:
        history = self.context.get("history")
        if history is None:
            from templates_app.selectors import version_history

            history = version_history(template=version.template)
        return HistoryEntrySerializer(history.get(version.number, []), many=True).data


def history_name(event_type: str) -> str:
    """The history's short name of an event type: `template.published` -> `published`."""
    return "model_drift" if event_type == "model_version.drift" else event_type.removeprefix("template.")


class HistoryEntrySerializer(serializers.Serializer):
    """A template history entry: one event of the workspace's log (GET /events shows the same events)."""

    id = serializers.IntegerField(read_only=True)
    event = serializers.SerializerMethodField(help_text="`published`, `rolled_back`, `dependency_changed`…")
    type = serializers.CharField(read_only=True, help_text="the event's type in the log: `template.published`…")
    version = serializers.SerializerMethodField()
    actor = serializers.CharField(read_only=True)
    data = serializers.SerializerMethodField(help_text="what changed (GET /events adds `language` and `version`)")
    created_at = serializers.DateTimeField(source="occurred_at", read_only=True)

    def get_data(self, event) -> dict:
        return {key: value for key, value in (event.data or {}).items() if key not in ("language", "version")}

    def get_event(self, event) -> str:
        return history_name(event.type)

    def get_version(self, event) -> int | None:
        number = (event.data or {}).get("version")
        return number if isinstance(number, int) else None


class CompareQuerySerializer(serializers.Serializer):
    vars()["from"] = serializers.IntegerField(min_value=1)  # `from` is a Python keyword
    to = serializers.IntegerField(min_value=1)


class LabelSerializer(StrictBody, serializers.Serializer):
    version = serializers.IntegerField(min_value=1)


class LifecycleSerializer(StrictBody, serializers.Serializer):
    status = serializers.ChoiceField(choices=PromptTemplate.Status.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class ForkSerializer(StrictBody, serializers.Serializer):
    new_key = serializers.CharField(max_length=100, validators=[SLUG_VALIDATOR])
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    status = serializers.ChoiceField(
        choices=[PromptTemplate.Status.DRAFT, PromptTemplate.Status.PUBLISHED],
        required=False,
        default=PromptTemplate.Status.DRAFT,
    )


class RelationshipCreateSerializer(StrictBody, serializers.Serializer):
    target = serializers.CharField(max_length=100, validators=[SLUG_VALIDATOR])
    kind = serializers.ChoiceField(
        choices=[
            choice for choice in TemplateRelationship.Kind.values if choice != TemplateRelationship.Kind.FORKED_FROM
        ]
    )


class RelationshipSerializer(serializers.ModelSerializer):
    source = serializers.CharField(source="source.key")
    target = serializers.CharField(source="target.key")

    class Meta:
        model = TemplateRelationship
        fields = ["source", "target", "kind", "created_by", "created_at"]


SEARCH_FILTERS = ("category", "language", "status", "tags", "is_active", "node_name", "ordering")
LIST_FILTERS = ("tags", "ordering")  # a list of strings, or a comma string


class SearchSerializer(StrictBody, serializers.Serializer):
    query = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    filters = ObjectField(
        required=False,
        default=dict,
        help_text=f"any of {', '.join(SEARCH_FILTERS)}: strings; is_active a boolean; tags and ordering also lists",
    )
    facets = serializers.BooleanField(required=False, default=False)

    def validate_filters(self, filters: dict) -> dict[str, str]:
        """The list filters as the list endpoint's query string would give them: every value a string."""
        errors, clean = {}, {}
        for name, value in filters.items():
            if name not in SEARCH_FILTERS:
                errors[name] = [f"Unknown filter; known: {', '.join(SEARCH_FILTERS)}."]
            elif name == "is_active" and isinstance(value, bool):
                clean[name] = "true" if value else "false"
            elif name == "ordering" and not _orderings(value):
                errors[name] = [f"A list of (or a comma string of) {', '.join(ORDERINGS)}."]
            elif name == "status" and value not in PromptTemplate.Status.values:
                errors[name] = [f"Not one of: {', '.join(PromptTemplate.Status.values)}."]
            elif isinstance(value, str) and len(value) <= 500:
                clean[name] = value
            elif name in LIST_FILTERS and isinstance(value, list) and all(isinstance(item, str) for item in value):
                clean[name] = ",".join(value)[:2000]
            else:
                kind = (
                    "a boolean"
                    if name == "is_active"
                    else "a list of strings or a string"
                    if name in LIST_FILTERS
                    else "a string"
                )
                errors[name] = [f"Must be {kind}."]
        if errors:
            raise serializers.ValidationError(errors)
        return clean


LABEL = r"^[a-z0-9][a-z0-9_-]{0,63}\Z"


def _orderings(value) -> bool:
    """An ordering filter's value: a list of known orderings, or a non-empty comma string of them."""
    if isinstance(value, list):
        return all(item in ORDERINGS for item in value)
    return isinstance(value, str) and all(item in ORDERINGS for item in value.split(","))


class PinQuerySerializer(serializers.Serializer):
    """`?version=n` or `?label=name`: show that version instead of the served one. Both: the label must point at
    that version (409 otherwise)."""

    version = serializers.IntegerField(min_value=1, required=False)
    label = serializers.RegexField(LABEL, required=False, trim_whitespace=False)


class DriftQuerySerializer(serializers.Serializer):
    baseline = serializers.IntegerField(min_value=1, required=False)


# --- refinements -----------------------------------------------------------------------------------
LLM_MODEL_ID = r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$"


class RefinementCreateSerializer(StrictBody, serializers.Serializer):
    goal = serializers.CharField(max_length=2000)
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1, required=False)
    model = serializers.RegexField(LLM_MODEL_ID, max_length=200, required=False)


class RefinementApplySerializer(StrictBody, serializers.Serializer):
    publish = serializers.BooleanField(required=False, default=False)


class RefinementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["queued", "running", "succeeded", "failed"])
    version = serializers.IntegerField(source="version.number", help_text="the version refined")
    goal = serializers.CharField()
    model = serializers.CharField()
    proposed_template = serializers.CharField(help_text="empty until the refinement succeeded")
    rationale = serializers.CharField()
    diff = serializers.SerializerMethodField(help_text="unified diff from the version to the proposal")
    tokens = serializers.SerializerMethodField()
    latency_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(help_text="why the refinement failed; empty otherwise")
    applied_version = serializers.IntegerField(source="applied_version.number", allow_null=True, default=None)
    created_by = serializers.CharField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)

    def get_diff(self, refinement) -> str:
        return proposal_diff(refinement)

    def get_tokens(self, refinement) -> dict[str, int]:
        return {
            "prompt": refinement.prompt_tokens,
            "completion": refinement.completion_tokens,
            "total": refinement.total_tokens,
        }
