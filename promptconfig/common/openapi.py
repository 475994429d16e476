"""The project's drf-spectacular AutoSchema: request fields say in the schema what the server checks."""

from django.core.validators import RegexValidator
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers

# Some character that Python's str.strip() keeps (DRF trims text fields with it).
NOT_BLANK = r"[^\s\x1c-\x1f\x85]"
# A filter, context or metadata value: any JSON object.
OBJECT = {"type": "object", "additionalProperties": True}
MODEL_CONFIG = {
    "type": "object",
    "properties": {
        "provider": {"type": "string", "minLength": 1, "pattern": r"\S"},
        "model": {"type": "string", "minLength": 1, "pattern": r"\S"},
        "params": {"type": "object", "additionalProperties": True},
    },
    "required": ["provider", "model"],
    "additionalProperties": False,
}
ATTRIBUTES = {
    "type": "object",
    # OpenAPI 3.0 has no propertyNames: the key rule is only described.
    "description": "keys are identifiers `^[A-Za-z_][A-Za-z0-9_]*$` (at most 100 characters); at most 16 KiB as "
    "compact JSON",
    "additionalProperties": True,
}


class AutoSchema(SpectacularAutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request" or field.read_only:
            return schema
        from profiles.serializers import AttributesField
        from templates_app.serializers import ModelConfigField, ObjectField

        shape = None
        if isinstance(field, ModelConfigField):
            shape = MODEL_CONFIG
        elif isinstance(field, AttributesField):
            shape = ATTRIBUTES
        elif isinstance(field, ObjectField):
            shape = OBJECT
        if shape is not None:
            schema = {**{k: v for k, v in schema.items() if k in ("description", "default")}, **shape}
            if field.allow_null:
                schema["nullable"] = True
        elif isinstance(field, serializers.ListField) and not field.allow_empty and schema.get("type") == "array":
            schema.setdefault("minItems", 1)
        elif isinstance(field, serializers.CharField) and not field.allow_blank and schema.get("type") == "string":
            schema.setdefault("minLength", 1)  # a blank string is refused ("This field may not be blank.")
            has_pattern = "pattern" in schema or any(isinstance(v, RegexValidator) for v in field.validators)
            if field.trim_whitespace and not has_pattern:
                schema["pattern"] = NOT_BLANK  # so is one of whitespace only, which is trimmed to blank
        return schema
