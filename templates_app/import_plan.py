"""Prompts as code, the import side: the plan for a validated document, and applying it in one transaction.

Per template the plan says `create`, `new_version` (something changes: the reason lists what), `unchanged`, or
`conflict` (the reason says why it cannot be applied as it stands). Applying goes through the same service
functions as the API (templates_app.services), in an order where every include resolves when it is saved; it
applies all of the plan or, when any template conflicts, nothing.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Prefetch

from promptconfig.common.cache import forget
from promptconfig.common.errors import ApiError, Conflict, ValidationFailed
from promptconfig.workspaces.models import Workspace
from promptconfig_client.engine import TemplateError
from templates_app import services
from templates_app.exchange import content_of
from templates_app.import_document import Entry, parse, validate_document
from templates_app.models import PromptTemplate, TemplateLabel, TemplateVersion
from templates_app.selectors import variants_cache_key

Status = PromptTemplate.Status
CREATE, NEW_VERSION, UNCHANGED, CONFLICT = "create", "new_version", "unchanged", "conflict"
CONTENT_KEYS = ("template", "variables", "variable_schema", "model_config")


@dataclass
class Step:
    entry: Entry
    action: str
    reason: str = ""
    template: PromptTemplate | None = None

    def as_dict(self) -> dict[str, Any]:
        row = {"key": self.entry.key, "language": self.entry.language, "action": self.action}
        if self.reason:
            row["reason"] = self.reason
        return row


class ImportConflict(Conflict):
    default_message = "The document conflicts with the workspace; nothing was imported."


def _content(version: dict | TemplateVersion) -> tuple:
    data = content_of(version) if isinstance(version, TemplateVersion) else version
    return (
        data["template"],
        tuple(sorted(data["variables"] or [])),
        json.dumps(data["variable_schema"], sort_keys=True),
        json.dumps(data["model_config"], sort_keys=True),
    )


def _existing(workspace: Workspace, entries: list[Entry], *, lock: bool) -> dict[tuple[str, str], PromptTemplate]:
    queryset = PromptTemplate.objects.filter(
        workspace=workspace, key__in={entry.key for entry in entries}, deleted_at__isnull=True
    )
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    queryset = queryset.select_related("served_version").prefetch_related(
        "tags",
        Prefetch("labels", queryset=TemplateLabel.objects.select_related("version")),
        "outgoing_relationships__target",
    )
    if any(entry.all_versions for entry in entries):
        queryset = queryset.prefetch_related("versions")
    return {(template.key, template.language): template for template in queryset}


def _changes(entry: Entry, template: PromptTemplate) -> tuple[list[str], list[str]]:
    """(what changes, why it cannot) for a template that exists."""
    changes, conflicts = [], []
    for name, value in entry.fields.items():
        current = sorted(tag.name for tag in template.tags.all()) if name == "tags" else getattr(template, name)
        if (sorted(set(value)) if name == "tags" else value) != current:
            changes.append(name)
    target_status = entry.fields.get("status", template.status)
    if "status" in changes and target_status not in services.TRANSITIONS[template.status]:
        conflicts.append(f"status cannot move from {template.status} to {target_status}")
    moves_production = False
    if entry.all_versions:
        ours = sorted(template.versions.all(), key=lambda version: version.number)
        for version, wanted in zip(ours, entry.versions, strict=False):
            if _content(version) != _content(wanted):
                conflicts.append(f"version {version.number} differs from the workspace's")
                break
        if len(ours) > len(entry.versions):
            conflicts.append(f"the workspace has versions the document does not (up to v{len(ours)})")
        elif len(ours) < len(entry.versions):
            changes.append(f"versions {len(ours) + 1}-{len(entry.versions)}")
        labels = {label.name: label.version.number for label in template.labels.all()}
        if labels != entry.labels:
            changes.append("labels")
            moves_production = labels.get(TemplateLabel.PRODUCTION) != entry.labels[TemplateLabel.PRODUCTION]
    elif _content(template.served_version) != _content(entry.versions[0]):
        changes.append("template")
        moves_production = True
    if moves_production and template.status == Status.ARCHIVED and target_status != Status.DRAFT:
        conflicts.append("an archived template cannot serve another version; restore it to draft first")
    ours_relations = {(relation.kind, relation.target.key) for relation in template.outgoing_relationships.all()}
    if set(entry.relationships) - ours_relations:
        changes.append("relationships")
    return changes, conflicts


def plan(entries: list[Entry], *, workspace: Workspace, lock: bool = False) -> list[Step]:
    existing = _existing(workspace, entries, lock=lock)
    nodes = {entry.fields.get("node_name") for entry in entries} - {None, ""}
    owners = dict(
        PromptTemplate.objects.filter(workspace=workspace, node_name__in=nodes, deleted_at__isnull=True).values_list(
            "node_name", "key"
        )
    )
    claimed: dict[str, str] = {}
    first_index: dict[tuple[str, str], int] = {}
    steps = []
    for entry in entries:
        template = existing.get((entry.key, entry.language))
        changes, conflicts = _changes(entry, template) if template else ([], [])
        index = first_index.setdefault((entry.key, entry.language), entry.index)
        if index != entry.index:
            conflicts.append(f"given twice in the document (templates[{index}] and templates[{entry.index}])")
        node = entry.fields.get("node_name") or ""
        if node and owners.get(node, entry.key) != entry.key:
            conflicts.append(f"node_name '{node}' maps to template '{owners[node]}'")
        elif node and claimed.setdefault(node, entry.key) != entry.key:
            conflicts.append(f"node_name '{node}' is also given to '{claimed[node]}' in the document")
        if conflicts:
            steps.append(Step(entry, CONFLICT, "; ".join(conflicts), template))
        elif template is None:
            steps.append(Step(entry, CREATE))
        elif changes:
            steps.append(Step(entry, NEW_VERSION, "changes: " + ", ".join(changes), template))
        else:
            steps.append(Step(entry, UNCHANGED, template=template))
    return steps


def _ordered(steps: list[Step]) -> list[Step]:
    """The steps to apply, every included template (of the document) before the templates including it."""
    todo = {(step.entry.key, step.entry.language): step for step in steps if step.action in (CREATE, NEW_VERSION)}
    waiting = {
        name: {(key, name[1]) for key in step.entry.includes} & set(todo) - {name} for name, step in todo.items()
    }
    ordered: list[Step] = []
    while waiting:
        ready = sorted(name for name, needs in waiting.items() if not needs)
        if not ready:  # a cycle: the engine names it when the first of them is saved
            ready = sorted(waiting)[:1]
        for name in ready:
            ordered.append(todo[name])
            del waiting[name]
        for needs in waiting.values():
            needs.difference_update(ready)
    return ordered


def _version_fields(version: dict) -> dict:
    return {key: version[key] for key in CONTENT_KEYS}


def _apply_create(step: Step, *, workspace: Workspace, actor: str) -> None:
    entry, first = step.entry, step.entry.versions[0]
    fields = dict(entry.fields)
    final = fields.pop("status", Status.PUBLISHED)
    template = services.template_create(
        workspace=workspace,
        actor=actor,
        key=entry.key,
        language=entry.language,
        status=Status.DRAFT if final == Status.DRAFT else Status.PUBLISHED,
        change_note=first["change_note"] or "Imported",
        **_version_fields(first),
        **fields,
    )
    for version in entry.versions[1:]:
        services.template_update(
            template, actor=actor, publish=False, change_note=version["change_note"], **_version_fields(version)
        )
    _apply_labels(template, entry, actor=actor)
    for status in {Status.DEPRECATED: [Status.DEPRECATED], Status.ARCHIVED: [Status.DEPRECATED, Status.ARCHIVED]}.get(
        final, []
    ):
        services.template_set_lifecycle(template=template, status=status, actor=actor, reason="Imported")
    step.template = template


def _apply_labels(template: PromptTemplate, entry: Entry, *, actor: str) -> None:
    production = entry.labels[TemplateLabel.PRODUCTION]
    if template.served_version.number != production:
        services.version_publish(template=template, number=production, actor=actor)
    if not entry.all_versions:
        return
    current = {label.name: label.version.number for label in template.labels.select_related("version")}
    for name, number in sorted(entry.labels.items()):
        if name != TemplateLabel.PRODUCTION and current.get(name) != number:
            services.label_set(template=template, name=name, number=number, actor=actor)
    for name in sorted(set(current) - set(entry.labels)):
        services.label_delete(template=template, name=name, actor=actor)


def _apply_update(step: Step, *, actor: str) -> None:
    entry, template = step.entry, step.template
    fields = dict(entry.fields)
    final = fields.pop("status", template.status)
    if template.status == Status.ARCHIVED and final != Status.ARCHIVED:
        services.template_set_lifecycle(template=template, status=final, actor=actor, reason="Imported")
    services.template_update(template, actor=actor, **fields)
    if entry.all_versions:
        for version in entry.versions[template.latest_version_number :]:
            services.template_update(
                template, actor=actor, publish=False, change_note=version["change_note"], **_version_fields(version)
            )
    else:
        wanted = entry.versions[0]
        if _content(template.served_version) != _content(wanted):
            services.template_update(
                template, actor=actor, change_note=wanted["change_note"] or "Imported", **_version_fields(wanted)
            )
            latest = template.versions.get(number=template.latest_version_number)
            if template.served_version_id != latest.pk:  # the latest, not yet served version was this content
                services.version_publish(template=template, number=latest.number, actor=actor)
    if entry.all_versions:
        _apply_labels(template, entry, actor=actor)
    if template.status != final:
        services.template_set_lifecycle(template=template, status=final, actor=actor, reason="Imported")


def _apply(steps: list[Step], *, workspace: Workspace, actor: str) -> None:
    current = None
    try:
        for step in _ordered(steps):
            current = step
            if step.action == CREATE:
                _apply_create(step, workspace=workspace, actor=actor)
            else:
                _apply_update(step, actor=actor)
        for step in steps:
            current = step
            if step.template is None:
                continue
            ours = {(relation.kind, relation.target.key) for relation in step.template.outgoing_relationships.all()}
            for kind, target in sorted(set(step.entry.relationships) - ours):
                services.relationship_add(template=step.template, target_key=target, kind=kind, actor=actor)
    except (ApiError, TemplateError) as exc:
        path = f"templates[{current.entry.index}]" if current else "document"
        where = f"{path} ('{current.entry.key}', {current.entry.language})" if current else path
        error_class = type(exc) if isinstance(exc, ApiError) else ValidationFailed
        raise error_class(f"{where}: {exc.message}", details={path: [exc.message]}) from None


class _RollBack(Exception):
    pass


def import_document(
    *,
    workspace: Workspace,
    actor: str,
    raw: bytes,
    json_only: bool = False,
    dry_run: bool = False,
    max_versions: int | None = None,
) -> dict[str, Any]:
    """`{"dry_run", "applied", "plan"}`. A dry run also applies the plan and rolls it back, so it finds what
    applying would refuse. Without it, ImportConflict (409, the plan in details) when any template conflicts.
    `max_versions`: see validate_document (the API passes IMPORT_MAX_VERSIONS; the command, no limit)."""
    data, lines = parse(raw, json_only=json_only)
    entries = validate_document(data, lines, workspace=workspace, max_versions=max_versions)
    try:
        with transaction.atomic():
            steps = plan(entries, workspace=workspace, lock=True)
            answer = {"dry_run": dry_run, "applied": False, "plan": [step.as_dict() for step in steps]}
            conflicts = [step for step in steps if step.action == CONFLICT]
            if conflicts:
                if dry_run:
                    return answer
                raise ImportConflict(
                    f"{len(conflicts)} of {len(steps)} templates conflict with the workspace; nothing was imported.",
                    details={**answer},
                )
            _apply(steps, workspace=workspace, actor=actor)
            if dry_run:
                raise _RollBack
            answer["applied"] = True
            return answer
    except _RollBack:
        # Reads inside the rolled-back transaction may have cached templates that never existed.
        forget(*(variants_cache_key(workspace.pk, key) for key in sorted({entry.key for entry in entries})))
        return answer
