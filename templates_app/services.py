"""Writes to templates: versions, labels, lifecycle, forks, relationships. Every change is recorded."""

import re
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Value
from django.utils import timezone

from promptconfig.common.cache import forget
from promptconfig.common.errors import Conflict, NotFound, ValidationFailed
from promptconfig.events.services import record_event
from promptconfig.workspaces.models import Workspace
from templates_app.model_config import model_config_error
from templates_app.models import (
    PromptTemplate,
    Tag,
    TemplateLabel,
    TemplateRelationship,
    TemplateVersion,
)
from templates_app.rendering import ENGINE, TemplateError, check_includers, include_loader, template_includers
from templates_app.selectors import node_cache_key, template_resolve, variants_cache_key

Status = PromptTemplate.Status
# Which lifecycle moves are legal: draft -> published -> deprecated -> archived, back from deprecated, restore.
TRANSITIONS: dict[str, set[str]] = {
    Status.DRAFT: {Status.PUBLISHED},
    Status.PUBLISHED: {Status.DEPRECATED},
    Status.DEPRECATED: {Status.ARCHIVED, Status.PUBLISHED},
    Status.ARCHIVED: {Status.DRAFT},
}
CONTENT_FIELDS = ("template", "variables", "variable_schema", "model_config")
MAX_TAGS = 50
DESCRIPTIVE_FIELDS = ("name", "category", "description", "metadata", "priority", "node_name", "is_active")
RESERVED_KEYS = {"search"}


def key_from_name(name: str) -> str:
    key = re.sub(r"[^a-z0-9_-]+", "_", name.lower()).strip("_-")[:100]
    if not key:
        raise ValidationFailed("Cannot derive a key from this name.", details={"key": ["Give a key."]})
    return key


def _record(
    template: PromptTemplate, kind: str, actor: str, version: TemplateVersion | None = None, **data: Any
) -> None:
    """One `template.<kind>` event in the workspace's log: the template's history and its webhooks' feed."""
    version = version or template.served_version
    record_event(
        workspace=template.workspace_id,
        type=f"template.{kind}",
        actor=actor,
        subject_kind="template",
        subject_id=template.key,
        subject_pk=template.pk,
        data={"language": template.language, **({"version": version.number} if version else {}), **data},
    )


def _forget(template: PromptTemplate, *node_names: str) -> None:
    """Drop the cached variants of this key and its node bindings, now and after commit (a reader may
    re-cache the old rows in between)."""
    names = {template.node_name, *node_names} - {""}
    forget(
        variants_cache_key(template.workspace_id, template.key),
        *(node_cache_key(template.workspace_id, name) for name in names),
    )


def _refresh_search_vector(template: PromptTemplate) -> None:
    if connection.vendor != "postgresql":
        return
    from django.contrib.postgres.search import SearchVector

    body = template.served_version.body if template.served_version else ""
    vector = (
        SearchVector(Value(template.name), weight="A", config="english")
        + SearchVector(Value(template.description), weight="B", config="english")
        + SearchVector(Value(body), weight="C", config="english")
    )
    PromptTemplate.objects.filter(pk=template.pk).update(search_vector=vector)


def _check_content(
    *, workspace: Workspace, key: str, language: str, body: str, variable_schema: dict | None
) -> tuple[list[str], list[str]]:
    """Refuse a body or schema that cannot serve; return (used variables, direct includes)."""
    ENGINE.check_source(body)
    try:
        ENGINE.check_schema(variable_schema)
    except TemplateError as exc:  # a field of the request that is not valid, not a template's failure
        raise ValidationFailed(exc.message, details={"variable_schema": [exc.message]}) from None
    includes = ENGINE.includes(body)
    if includes:
        # Resolving now finds cycles through this very template and nesting that is too deep.
        load = include_loader(workspace_id=workspace.pk, language=language, overrides={key: body})
        ENGINE.resolve_includes(body, load)
    return ENGINE.variables(body), includes


def content_check(*, template: PromptTemplate, body: str, variable_schema: dict | None) -> tuple[list[str], list[str]]:
    """The checks every saved body passes (syntax, sandbox limits, schema, includes), for a body not saved yet
    (an LLM's proposal); return (used variables, direct includes)."""
    return _check_content(
        workspace=template.workspace,
        key=template.key,
        language=template.language,
        body=body,
        variable_schema=variable_schema,
    )


def _check_model_config(model_config: dict | None) -> None:
    """The API's serializer and the admin form both save through here: one rule (templates_app.model_config)."""
    error = model_config_error(model_config)
    if error:
        raise ValidationFailed(f"Invalid model_config: {error}", details={"model_config": [error]})


def _check_node_name(*, workspace: Workspace, key: str, node_name: str) -> None:
    if not node_name:
        return
    taken = (
        PromptTemplate.objects.filter(workspace=workspace, node_name=node_name, deleted_at__isnull=True)
        .exclude(key=key)
        .values_list("key", flat=True)
        .first()
    )
    if taken:
        raise Conflict(
            f"Node '{node_name}' already maps to template '{taken}'.", details={"node_name": [f"Used by '{taken}'."]}
        )


def _set_tags(template: PromptTemplate, names: Iterable[str]) -> None:
    names = list(dict.fromkeys(names))
    if len(names) > MAX_TAGS:  # the API's bodies say so too; a bulk job adds to the tags a template has
        message = f"A template has at most {MAX_TAGS} tags ({len(names)} asked for)."
        raise ValidationFailed(message, details={"tags": [message]})
    tags = [Tag.objects.get_or_create(workspace_id=template.workspace_id, name=name)[0] for name in names]
    template.tags.set(tags)


def _new_version(
    template: PromptTemplate,
    *,
    actor: str,
    body: str,
    variables: list[str],
    variable_schema: dict | None,
    model_config: dict | None,
    change_note: str,
) -> TemplateVersion:
    used, includes = _check_content(
        workspace=template.workspace,
        key=template.key,
        language=template.language,
        body=body,
        variable_schema=variable_schema,
    )
    template.latest_version_number += 1
    version = TemplateVersion.objects.create(
        template=template,
        number=template.latest_version_number,
        body=body,
        variables=sorted(set(variables)),
        variable_schema=variable_schema,
        model_config=model_config,
        metadata=template.metadata,
        change_note=change_note,
        created_by=actor,
        used_variables=used,
        includes=includes,
    )
    PromptTemplate.objects.filter(pk=template.pk).update(latest_version_number=template.latest_version_number)
    _record(template, "version_created", actor, version, number=version.number, change_note=change_note)
    return version


def _record_dependents(template: PromptTemplate, includers: dict[str, str], *, actor: str, cause: str) -> None:
    """`template.dependency_changed` for every template whose rendered output changed with this one's."""
    if not includers:
        return
    rows = PromptTemplate.objects.filter(
        workspace_id=template.workspace_id, language=template.language, deleted_at__isnull=True, key__in=includers
    ).select_related("served_version")
    for includer in rows.order_by("key"):
        _record(
            includer,
            "dependency_changed",
            actor,
            dependency=template.key,
            dependency_version=template.served_version.number,
            via=includers[includer.key],
            cause=cause,
        )


def _serve(template: PromptTemplate, version: TemplateVersion) -> dict[str, str]:
    """Point `production` at a version and serve it; answer the templates that include it (see template_includers)."""
    includers = template_includers(template)
    check_includers(template, version.body, includers)
    TemplateLabel.objects.update_or_create(
        template=template, name=TemplateLabel.PRODUCTION, defaults={"version": version}
    )
    if version.first_published_at is None and template.status != Status.DRAFT:
        version.first_published_at = timezone.now()
        version.save(update_fields=["first_published_at"])
    template.served_version = version
    template.save(update_fields=["served_version", "updated_at"])
    _refresh_search_vector(template)
    return includers


@transaction.atomic
def template_create(
    *,
    workspace: Workspace,
    actor: str,
    name: str,
    template: str,
    key: str | None = None,
    language: str | None = None,
    variables: list[str] | None = None,
    variable_schema: dict | None = None,
    model_config: dict | None = None,
    category: str = "",
    description: str = "",
    metadata: dict | None = None,
    tags: list[str] | None = None,
    priority: int = 0,
    node_name: str = "",
    status: str = Status.PUBLISHED,
    is_active: bool = True,
    change_note: str = "",
) -> PromptTemplate:
    key = key or key_from_name(name)
    _check_model_config(model_config)
    if key in RESERVED_KEYS:
        raise ValidationFailed(f"'{key}' is a reserved key.", details={"key": ["Reserved."]})
    language = language or workspace.default_language
    if PromptTemplate.objects.filter(workspace=workspace, key=key, language=language, deleted_at__isnull=True).exists():
        raise Conflict(f"Template '{key}' already exists in language '{language}'.", details={"key": ["Exists."]})
    _check_node_name(workspace=workspace, key=key, node_name=node_name)
    try:
        with transaction.atomic():
            created = PromptTemplate.objects.create(
                workspace=workspace,
                key=key,
                language=language,
                name=name,
                category=category,
                description=description,
                metadata=metadata or {},
                priority=priority,
                node_name=node_name,
                status=status,
                is_active=is_active,
                created_by=actor,
            )
    except IntegrityError:
        raise Conflict(f"Template '{key}' already exists in language '{language}'.") from None
    _set_tags(created, tags or [])
    _record(created, "created", actor, status=status)
    version = _new_version(
        created,
        actor=actor,
        body=template,
        variables=variables or [],
        variable_schema=variable_schema,
        model_config=model_config,
        change_note=change_note or "Created",
    )
    if status == Status.DRAFT:
        _serve(created, version)
    else:
        _publish(created, version, actor=actor, kind="published")
    _forget(created)
    return created


@transaction.atomic
def template_update(
    template: PromptTemplate, /, *, actor: str, publish: bool = True, change_note: str = "", **changes: Any
) -> PromptTemplate:
    """Descriptive fields change the template; content fields (CONTENT_FIELDS) make a new version.

    The new version starts from the latest one (the authors' working copy); it is served at once unless
    `publish` is false.
    """
    tags = changes.pop("tags", None)
    if "model_config" in changes:
        _check_model_config(changes["model_config"])
    described = {field: changes[field] for field in DESCRIPTIVE_FIELDS if field in changes}
    previous_node = template.node_name
    if "node_name" in described:
        _check_node_name(workspace=template.workspace, key=template.key, node_name=described["node_name"])
    changed_fields = [field for field, value in described.items() if getattr(template, field) != value]
    for field in changed_fields:
        setattr(template, field, described[field])
    if changed_fields:
        template.save(update_fields=[*changed_fields, "updated_at"])
    if tags is not None and sorted(set(tags)) != sorted(template.tags.values_list("name", flat=True)):
        _set_tags(template, tags)
        changed_fields.append("tags")
    if changed_fields:
        _record(template, "updated", actor, fields=changed_fields)

    latest = template.versions.get(number=template.latest_version_number)
    content = {
        "template": latest.body,
        "variables": latest.variables,
        "variable_schema": latest.variable_schema,
        "model_config": latest.model_config,
    }
    proposed = {**content, **{field: changes[field] for field in CONTENT_FIELDS if field in changes}}
    if "variables" in proposed:
        proposed["variables"] = sorted(set(proposed["variables"] or []))
    for shown in (latest, template.served_version):
        # The representation's `variables` are the names the body uses plus the declared ones: sent back as a GET
        # gave them, they declare nothing new (such a round trip made a new, identical version).
        if "variables" in changes and shown is not None and proposed["variables"] == shown.all_variables:
            proposed["variables"] = shown.variables
            break
    if proposed != content:
        version = _new_version(
            template,
            actor=actor,
            body=proposed["template"],
            variables=proposed["variables"],
            variable_schema=proposed["variable_schema"],
            model_config=proposed["model_config"],
            change_note=change_note,
        )
        if publish:
            _publish(template, version, actor=actor, kind="published")
    elif changed_fields:
        _refresh_search_vector(template)
    _forget(template, previous_node)
    return template


def _publish(template: PromptTemplate, version: TemplateVersion, *, actor: str, kind: str) -> None:
    if template.status == Status.ARCHIVED:
        raise Conflict("An archived template cannot serve another version; restore it to draft first.")
    previous = template.served_version
    includers = _serve(template, version)
    _record(template, kind, actor, version, to=version.number, **({"from": previous.number} if previous else {}))
    if previous is None or previous.pk != version.pk:
        _record_dependents(template, includers, actor=actor, cause=kind)


@transaction.atomic
def version_publish(*, template: PromptTemplate, number: int, actor: str, rollback: bool = False) -> PromptTemplate:
    """Serve version `number` (move `production`); a rollback is the same move, recorded as such."""
    version = template.versions.filter(number=number).first()
    if version is None:
        raise NotFound(f"Template '{template.key}' has no version {number}.")
    kind = "rolled_back" if rollback else "published"
    _publish(template, version, actor=actor, kind=kind)
    _forget(template)
    return template


@transaction.atomic
def label_set(*, template: PromptTemplate, name: str, number: int, actor: str) -> PromptTemplate:
    if name == TemplateLabel.LATEST:
        raise ValidationFailed(
            "'latest' always means the newest version; it cannot be moved.", details={"label": ["Reserved."]}
        )
    if name == TemplateLabel.PRODUCTION:
        return version_publish(template=template, number=number, actor=actor)
    version = template.versions.filter(number=number).first()
    if version is None:
        raise NotFound(f"Template '{template.key}' has no version {number}.")
    label = template.labels.filter(name=name).select_related("version").first()
    previous = label.version.number if label else None
    TemplateLabel.objects.update_or_create(template=template, name=name, defaults={"version": version})
    _record(template, "label_moved", actor, version, label=name, to=number, **{"from": previous})
    _forget(template)
    return template


@transaction.atomic
def label_delete(*, template: PromptTemplate, name: str, actor: str) -> None:
    if name in (TemplateLabel.PRODUCTION, TemplateLabel.LATEST):
        raise Conflict(f"The '{name}' label cannot be removed.")
    label = template.labels.filter(name=name).select_related("version").first()
    if label is None:
        raise NotFound(f"Template '{template.key}' has no label '{name}'.")
    label.delete()
    _record(template, "label_removed", actor, label.version, label=name)
    _forget(template)


@transaction.atomic
def template_set_lifecycle(*, template: PromptTemplate, status: str, actor: str, reason: str = "") -> PromptTemplate:
    current = template.status
    if status == current:
        return template
    if status not in TRANSITIONS[current]:
        allowed = sorted(TRANSITIONS[current])
        raise Conflict(
            f"A {current} template cannot become {status}; it can become: {', '.join(allowed)}.",
            details={"from": current, "to": status, "allowed": allowed},
        )
    template.status = status
    template.save(update_fields=["status", "updated_at"])
    served = template.served_version
    if status == Status.PUBLISHED and served and served.first_published_at is None:
        served.first_published_at = timezone.now()
        served.save(update_fields=["first_published_at"])
    _record(template, "lifecycle_changed", actor, reason=reason, **{"from": current, "to": status})
    _forget(template)
    return template


@transaction.atomic
def template_delete(*, template: PromptTemplate, actor: str) -> None:
    """Soft delete: the template is gone from every read; its versions and history stay. Refused (409) while
    served templates include it: they would fail on every generate."""
    includers = sorted(template_includers(template))
    if includers:
        raise Conflict(
            f"Served templates include '{template.key}' ({', '.join(includers[:20])}): change or delete them first.",
            details={"included_by": includers[:100]},
        )
    template.deleted_at = timezone.now()
    template.save(update_fields=["deleted_at", "updated_at"])
    _record(template, "deleted", actor)
    _forget(template)


@transaction.atomic
def template_fork(
    *, template: PromptTemplate, new_key: str, actor: str, name: str = "", status: str = Status.DRAFT
) -> PromptTemplate:
    """A new template whose v1 is this one's served content, related to it by `forked_from`."""
    served = template.served_version
    fork = template_create(
        workspace=template.workspace,
        actor=actor,
        key=new_key,
        language=template.language,
        name=name or f"{template.name} (fork)",
        template=served.body,
        variables=served.variables,
        variable_schema=served.variable_schema,
        model_config=served.model_config,
        category=template.category,
        description=template.description,
        metadata=template.metadata,
        tags=list(template.tags.values_list("name", flat=True)),
        priority=template.priority,
        status=status,
        change_note=f"Forked from {template.key} v{served.number}",
    )
    TemplateRelationship.objects.create(
        source=fork, target=template, kind=TemplateRelationship.Kind.FORKED_FROM, created_by=actor
    )
    _record(template, "forked", actor, new_key=new_key, number=served.number)
    return fork


@transaction.atomic
def relationship_add(*, template: PromptTemplate, target_key: str, kind: str, actor: str) -> TemplateRelationship:
    target = template_resolve(workspace=template.workspace, key=target_key, language=template.language)
    if target.pk == template.pk:
        raise Conflict("A template cannot relate to itself.", details={"target": ["Same template."]})
    relationship, created = TemplateRelationship.objects.get_or_create(
        source=template, target_id=target.pk, kind=kind, defaults={"created_by": actor}
    )
    if not created:
        raise Conflict(f"'{template.key}' already {kind} '{target.key}'.")
    _record(template, "relationship_added", actor, target=target.key, relationship=kind)
    return relationship
