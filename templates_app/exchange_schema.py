"""The OpenAPI description of the export/import document (served form: one body per template).

The `versions` form (`versions=all`) and `relationships` are described in the operations' texts: their rules
(numbered 1, 2, … in order, one `production` label, targets that exist) are beyond what the schema can state."""

from rest_framework import serializers

from promptconfig.common.openapi import NOT_BLANK
from templates_app.exchange import FORMAT
from templates_app.models import PromptTemplate
from templates_app.serializers import TAG, ModelConfigField

KEY = {"type": "string", "pattern": "^(?!search$)[a-z0-9][a-z0-9_-]{0,99}$"}

TEMPLATE_ENTRY = {
    "type": "object",
    "properties": {
        "key": KEY,
        "language": {"type": "string", "maxLength": 16, "pattern": "^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*$"},
        "name": {"type": "string", "minLength": 1, "maxLength": 200, "pattern": NOT_BLANK},
        "category": {"type": "string", "maxLength": 100},
        "description": {"type": "string"},
        "status": {"type": "string", "enum": list(PromptTemplate.Status.values)},
        "is_active": {"type": "boolean"},
        "tags": {"type": "array", "maxItems": 50, "items": {"type": "string", "pattern": TAG.replace("\\Z", "$")}},
        "metadata": {"type": "object", "additionalProperties": True},
        "priority": {"type": "integer", "minimum": -1_000_000, "maximum": 1_000_000},
        "node_name": {"type": "string", "pattern": "^[A-Za-z0-9_.:-]{0,100}$"},
        "variables": {
            "type": "array",
            "maxItems": 200,
            "items": {"type": "string", "maxLength": 100, "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
        },
        "variable_schema": {"type": "object", "additionalProperties": True, "nullable": True},
        "model_config": {**ModelConfigField.openapi_schema, "nullable": True},
        "template": {"type": "string", "description": "the served version's body"},
        "change_note": {"type": "string", "maxLength": 2000, "description": "for the version an import creates"},
    },
    "required": ["key", "name", "template"],
    "additionalProperties": False,
}

EXPORTED = {
    "type": "object",
    "description": "`{format, templates}`: per template either `template` (the served body) or `versions`.",
    "properties": {
        "format": {"type": "string", "enum": [FORMAT]},
        "templates": {"type": "array", "items": {"type": "object", "additionalProperties": True}},
    },
    "required": ["format", "templates"],
}


class _TemplatesField(serializers.JSONField):
    openapi_schema = {"type": "array", "items": TEMPLATE_ENTRY}


class ImportDocumentSerializer(serializers.Serializer):
    """A document as GET /export writes it, in YAML or JSON (described here in its served form: one `template`
    per entry)."""

    format = serializers.ChoiceField(choices=[FORMAT])
    templates = _TemplatesField()
