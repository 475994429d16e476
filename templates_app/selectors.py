"""Reads of templates, versions and their history; which template a caller (by key or node name) gets."""

import hashlib

from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet

from promptconfig.common.cache import read_through
from promptconfig.common.errors import Conflict, Gone, NotFound, TemplateNotPublished
from promptconfig.events.models import Event
from promptconfig.events.selectors import subject_history
from promptconfig.workspaces.models import Workspace
from templates_app.models import PromptTemplate, TemplateLabel, TemplateRelationship, TemplateVersion

VARIANTS_CACHE_TIMEOUT = 3600
VERSION_CACHE_TIMEOUT = 24 * 3600
NODE_CACHE_TIMEOUT = 3600
Status = PromptTemplate.Status


def template_queryset() -> QuerySet[PromptTemplate]:
    """Live templates with everything their representation reads, fetched once."""
    return (
        PromptTemplate.objects.filter(deleted_at__isnull=True)
        .select_related("served_version")
        .prefetch_related("tags", Prefetch("labels", queryset=TemplateLabel.objects.select_related("version")))
    )


def template_list(*, workspace: Workspace) -> QuerySet[PromptTemplate]:
    return template_queryset().filter(workspace=workspace)


def variants_cache_key(workspace_id: int, key: str) -> str:
    return f"templates:{workspace_id}:{key}"


def template_variants(*, workspace_id: int, key: str) -> dict[str, PromptTemplate]:
    """Every live language variant of a key, {language: template}, through the cache.

    One cache entry per key holds all its languages, so language fallback costs one lookup, and a
    key that does not exist is cached too (as {}); every change to the key drops the entry.
    """
    return read_through(
        variants_cache_key(workspace_id, key),
        lambda: {
            template.language: template for template in template_queryset().filter(workspace_id=workspace_id, key=key)
        },
        timeout=VARIANTS_CACHE_TIMEOUT,
        cache_type="template",
    )


def language_candidates(requested: str | None, default: str, preferred: str | None = None) -> list[str]:
    """`de-AT` -> [`de-AT`, `de`, default]: the order in which a language falls back; a user's preferred
    language (and its base) comes between the requested one and the default."""
    candidates = []
    for language in (requested, preferred):
        if language:
            candidates += [language, language.split("-")[0]]
    candidates.append(default)
    return list(dict.fromkeys(candidates))


def template_resolve(
    *, workspace: Workspace, key: str, language: str | None = None, preferred: str | None = None, exact: bool = False
) -> PromptTemplate:
    """The template a reader of `key` in `language` gets, falling back as language_candidates says; with `exact`,
    a language asked for is that language or nothing."""
    variants = template_variants(workspace_id=workspace.pk, key=key)
    candidates = (
        [language] if exact and language else language_candidates(language, workspace.default_language, preferred)
    )
    for candidate in candidates:
        if candidate in variants:
            return variants[candidate]
    raise NotFound(f"No template '{key}'" + (f" in language '{language}'." if language else "."))


def node_cache_key(workspace_id: int, node_name: str) -> str:
    return f"nodes:{workspace_id}:{hashlib.sha1(node_name.encode()).hexdigest()}"


def node_template_key(*, workspace: Workspace, node_name: str) -> str:
    """The template key a node name maps to in this workspace (cached; "" cached for none)."""
    key = read_through(
        node_cache_key(workspace.pk, node_name),
        lambda: (
            (
                PromptTemplate.objects.filter(workspace=workspace, node_name=node_name, deleted_at__isnull=True)
                .values_list("key", flat=True)
                .first()
            )
            or ""
        ),
        timeout=NODE_CACHE_TIMEOUT,
    )
    if not key:
        raise NotFound(f"No template is bound to node '{node_name}'.")
    return key


def template_for_caller(
    *,
    workspace: Workspace,
    template_id: str | None = None,
    node_name: str | None = None,
    language: str | None = None,
    preferred: str | None = None,
) -> PromptTemplate:
    """The template a runtime caller gets: by key or node, in the request's `language`, else the user's
    `preferred` one, else the workspace default (each falling back from `de-AT` to `de`)."""
    key = template_id or node_template_key(workspace=workspace, node_name=node_name or "")
    return template_resolve(workspace=workspace, key=key, language=language, preferred=preferred)


def _version_number(template: PromptTemplate, number: int) -> TemplateVersion:
    """A pinned version; versions never change, so they cache for long."""
    version = read_through(
        f"versions:{template.workspace_id}:{template.pk}:{number}",
        lambda: TemplateVersion.objects.filter(template=template, number=number).first(),
        timeout=VERSION_CACHE_TIMEOUT,
    )
    if version is None:
        raise NotFound(f"Template '{template.key}' has no version {number}.")
    return version


def version_pinned(
    template: PromptTemplate, *, version: int | None = None, label: str | None = None
) -> TemplateVersion:
    """The version a number or a label (`latest` included) names; NotFound when there is none. Given both, the
    label must point at that version (Conflict otherwise): the number confirms what the label names."""
    if version is not None:
        numbered = _version_number(template, version)
        if label and (labelled := version_pinned(template, label=label)).number != numbered.number:
            raise Conflict(
                f"Label '{label}' points at version {labelled.number}, not {numbered.number}.",
                details={"label": [f"Points at version {labelled.number}."]},
            )
        return numbered
    if label == TemplateLabel.LATEST:
        return _version_number(template, template.latest_version_number)
    pointed = next((item for item in template.labels.all() if item.name == label), None)
    if pointed is None:
        raise NotFound(f"Template '{template.key}' has no label '{label}'.")
    return pointed.version


def version_for_caller(
    template: PromptTemplate, *, version: int | None = None, label: str | None = None
) -> TemplateVersion:
    """The version a caller gets, by the lifecycle rules: archived is gone; draft and inactive
    templates serve only an explicitly asked version or label."""
    if template.status == Status.ARCHIVED:
        raise Gone(f"Template '{template.key}' is archived.")
    if version is not None or label:
        return version_pinned(template, version=version, label=label)
    if template.status == Status.DRAFT or not template.is_active:
        state = "a draft" if template.status == Status.DRAFT else "inactive"
        raise TemplateNotPublished(
            f"Template '{template.key}' is {state}: ask for a version or label explicitly to use it."
        )
    return template.served_version


def template_for_write(*, workspace: Workspace, key: str, language: str | None = None) -> PromptTemplate:
    """The exact variant a write applies to (no fallback), locked for the transaction."""
    template = (
        PromptTemplate.objects.select_for_update(of=("self",))
        .filter(workspace=workspace, key=key, language=language or workspace.default_language, deleted_at__isnull=True)
        .select_related("served_version", "workspace")
        .first()
    )
    if template is None:
        raise NotFound(f"No template '{key}'" + (f" in language '{language}'." if language else "."))
    return template


def version_list(*, template: PromptTemplate) -> QuerySet[TemplateVersion]:
    return TemplateVersion.objects.filter(template=template).prefetch_related("labels").order_by("number")


def version_get(*, template: PromptTemplate, number: int) -> TemplateVersion:
    version = version_list(template=template).filter(number=number).first()
    if version is None:
        raise NotFound(f"Template '{template.key}' has no version {number}.")
    return version


STATS_FIELDS = ("usage_count", "success_rate", "average_rating", "rating_count", "feedback_count")


def template_stats(template: PromptTemplate) -> dict:
    """The template's usage and rating figures as stored now (they change without the template's cache)."""
    return PromptTemplate.objects.filter(pk=template.pk).values(*STATS_FIELDS).first() or {}


def first_published_version(template: PromptTemplate) -> TemplateVersion:
    """The version first published (the first version when none ever was): the default drift baseline."""
    versions = TemplateVersion.objects.filter(template=template)
    baseline = versions.filter(first_published_at__isnull=False).order_by("first_published_at", "number").first()
    return baseline or versions.order_by("number").first()


def event_list(*, template: PromptTemplate) -> QuerySet[Event]:
    """The template's history: its events in the workspace's event log (`template.*`, `model_version.drift`)."""
    return subject_history(subject_kind="template", subject_pk=template.pk)


def version_history(*, template: PromptTemplate) -> dict[int, list[Event]]:
    """The template's events by the version they concern (`data.version`), for the versions' `history`."""
    history: dict[int, list[Event]] = {}
    for event in event_list(template=template):
        number = (event.data or {}).get("version")
        if isinstance(number, int):
            history.setdefault(number, []).append(event)
    return history


def relationship_lists(*, template: PromptTemplate) -> dict[str, QuerySet[TemplateRelationship]]:
    live = Q(target__deleted_at__isnull=True, source__deleted_at__isnull=True)
    related = TemplateRelationship.objects.filter(live).select_related("source", "target")
    return {"outgoing": related.filter(source=template), "incoming": related.filter(target=template)}


def template_search(queryset: QuerySet[PromptTemplate], query: str) -> QuerySet[PromptTemplate]:
    """Full text over name, description and served body: PostgreSQL FTS (GIN index), else a word match."""
    query = query.strip()
    if not query:
        return queryset
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank

        search = SearchQuery(query, config="english", search_type="websearch")
        return (
            queryset.filter(search_vector=search)
            .annotate(rank=SearchRank("search_vector", search))
            .order_by("-rank", "key")
        )
    for word in query.split():
        queryset = queryset.filter(
            Q(name__icontains=word) | Q(description__icontains=word) | Q(served_version__body__icontains=word)
        )
    return queryset


def template_facets(queryset: QuerySet[PromptTemplate]) -> dict[str, dict[str, int]]:
    """Counts per category, language, status and tag over a filtered set of templates."""
    ids = queryset.order_by().values("pk")
    base = PromptTemplate.objects.filter(pk__in=ids)
    facets = {}
    for field in ("category", "language", "status"):
        rows = base.values(field).annotate(n=Count("pk")).order_by(field)
        facets[field] = {row[field]: row["n"] for row in rows}
    tag_rows = base.filter(tags__isnull=False).values("tags__name").annotate(n=Count("pk")).order_by("tags__name")
    facets["tags"] = {row["tags__name"]: row["n"] for row in tag_rows}
    return facets
