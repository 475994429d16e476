"""Prompts as code, the export side: a workspace's templates as one YAML (or JSON) document.

Stable by construction: templates sorted by key and language, fields in a fixed order, object keys sorted, tags
and relationships sorted, so exporting twice gives the same bytes and a diff shows only real changes.
"""

import json
from typing import Any

import yaml
from django.db.models import Prefetch

from promptconfig.common.errors import NotFound, ValidationFailed
from promptconfig.workspaces.models import Workspace
from templates_app.models import PromptTemplate, TemplateLabel, TemplateRelationship, TemplateVersion

FORMAT = "promptconfig/v1"
VERSIONS_MODES = ("served", "all")
FORMATS = ("yaml", "json")
MAX_KEYS = 200
# Per template, in this order; then either the served content or `versions`, then `relationships`.
DESCRIPTIVE = ("name", "category", "description", "status", "is_active", "tags", "metadata", "priority", "node_name")
CONTENT = ("variables", "variable_schema", "model_config", "template")
MEDIA_TYPES = {"yaml": "application/yaml; charset=utf-8", "json": "application/json"}


def sorted_value(value: Any) -> Any:
    """Object keys sorted at every level (lists keep their order)."""
    if isinstance(value, dict):
        return {str(key): sorted_value(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, list):
        return [sorted_value(item) for item in value]
    return value


def content_of(version: TemplateVersion) -> dict[str, Any]:
    return {
        "variables": sorted(version.variables or []),
        "variable_schema": sorted_value(version.variable_schema),
        "model_config": sorted_value(version.model_config),
        "template": version.body,
    }


def _labels(version: TemplateVersion) -> list[str]:
    return sorted(label.name for label in version.labels.all())


def export_entry(template: PromptTemplate, *, versions: str) -> dict[str, Any]:
    entry: dict[str, Any] = {"key": template.key, "language": template.language}
    entry.update(
        {
            "name": template.name,
            "category": template.category,
            "description": template.description,
            "status": template.status,
            "is_active": template.is_active,
            "tags": sorted(tag.name for tag in template.tags.all()),
            "metadata": sorted_value(template.metadata or {}),
            "priority": template.priority,
            "node_name": template.node_name,
        }
    )
    if versions == "all":
        entry["versions"] = [
            {
                "number": version.number,
                **content_of(version),
                "change_note": version.change_note,
                "labels": _labels(version),
            }
            for version in sorted(template.versions.all(), key=lambda version: version.number)
        ]
    else:
        entry.update(content_of(template.served_version))
    entry["relationships"] = sorted(
        (
            {"kind": relationship.kind, "target": relationship.target.key}
            for relationship in template.outgoing_relationships.all()
            if relationship.target.deleted_at is None and relationship.target.language == template.language
        ),
        key=lambda relationship: (relationship["kind"], relationship["target"]),
    )
    return entry


def export_document(*, workspace: Workspace, keys: list[str] | None = None, versions: str = "served") -> dict:
    """`{"format", "templates"}` of the workspace's live templates (every language), or of the keys named
    (404 naming those it does not have)."""
    if versions not in VERSIONS_MODES:
        raise ValidationFailed("versions must be 'served' or 'all'.", details={"versions": ["served or all."]})
    queryset = (
        PromptTemplate.objects.filter(workspace=workspace, deleted_at__isnull=True)
        .select_related("served_version")
        .prefetch_related(
            "tags",
            Prefetch(
                "outgoing_relationships",
                queryset=TemplateRelationship.objects.select_related("target"),
            ),
        )
        .order_by("key", "language")
    )
    if versions == "all":
        labelled = Prefetch("labels", queryset=TemplateLabel.objects.order_by("name"))
        queryset = queryset.prefetch_related(
            Prefetch("versions", queryset=TemplateVersion.objects.prefetch_related(labelled))
        )
    if keys:
        queryset = queryset.filter(key__in=keys)
    templates = [template for template in queryset if template.served_version_id is not None]
    if keys:
        missing = sorted(set(keys) - {template.key for template in templates})
        if missing:
            raise NotFound(f"No template {', '.join(repr(key) for key in missing)}.", details={"templates": missing})
    return {"format": FORMAT, "templates": [export_entry(template, versions=versions) for template in templates]}


class _Dumper(yaml.SafeDumper):
    """The safe dumper, writing multi-line text as literal blocks (readable bodies, line-by-line diffs)."""


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None)


_Dumper.add_representer(str, _text)


def dump_document(document: dict, fmt: str = "yaml") -> str:
    if fmt == "json":
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return yaml.dump(document, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=False, width=100)
