"""The project's drf-spectacular AutoSchema: request fields say in the schema what the server checks.

A serializer field whose accepted shape DRF cannot see (a JSONField that only takes an object, say) declares it
in `openapi_schema`; the apps' fields do, so this module imports none of them."""

from django.core.validators import RegexValidator
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.plumbing import append_meta
from rest_framework import serializers

# The characters Python's str.strip() removes (str.isspace()), spelled out for a JSON Schema pattern: `\s` differs
# between the regex dialects (JavaScript's has U+FEFF and lacks U+001C-U+001F and U+0085; Python's is this set).
SPACE = r"\t-\r\x1c- \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
# Some character that str.strip() keeps (DRF trims text fields with it).
NOT_BLANK = f"[^{SPACE}]"


class AutoSchema(SpectacularAutoSchema):
    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction != "request" or field.read_only:
            return schema
        # A field whose JSON shape DRF cannot see (an object-typed JSONField) carries it as `openapi_schema`.
        shape = getattr(field, "openapi_schema", None)
        if shape is not None:
            schema = {**{k: v for k, v in schema.items() if k in ("description", "default")}, **shape}
            if field.allow_null:
                schema = append_meta(schema, {"nullable": True})
        elif isinstance(field, serializers.ListField) and not field.allow_empty and schema.get("type") == "array":
            schema.setdefault("minItems", 1)
        elif isinstance(field, serializers.CharField) and not field.allow_blank and schema.get("type") == "string":
            schema.setdefault("minLength", 1)  # a blank string is refused ("This field may not be blank.")
            has_pattern = "pattern" in schema or any(isinstance(v, RegexValidator) for v in field.validators)
            if field.trim_whitespace and not has_pattern:
                schema["pattern"] = NOT_BLANK  # so is one of whitespace only, which is trimmed to blank
        return schema

    def _insert_field_validators(self, field, schema):
        """drf-spectacular writes an `allow_blank` field with a pattern as `oneOf: [pattern, maxLength 0]` here;
        when the pattern matches "" too, "" matches both and `oneOf` makes it invalid: either will do (`anyOf`)."""
        super()._insert_field_validators(field, schema)
        if {"type": "string", "maxLength": 0} in schema.get("oneOf", []):
            schema["anyOf"] = schema.pop("oneOf")
