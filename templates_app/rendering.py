"""The server's use of promptconfig_client's engine: one engine, workspace-scoped includes."""

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from promptconfig_client.engine import Engine, Limits, TemplateError
from templates_app.models import PromptTemplate, TemplateVersion

ENGINE = Engine(
    Limits(
        time_budget_ms=settings.RENDER_TIME_BUDGET_MS,
        max_output_bytes=settings.RENDER_MAX_OUTPUT_BYTES,
        max_source_bytes=settings.TEMPLATE_MAX_SOURCE_BYTES,
    )
)


def include_loader(
    *,
    workspace_id: int,
    language: str,
    overrides: Mapping[str, str] | None = None,
    loaded: dict[str, TemplateVersion] | None = None,
):
    """`load(key)` for the engine: the served body of another template of the same workspace and language.

    `overrides` stands in for bodies not saved yet (a template being saved includes itself through a cycle);
    `loaded`, if given, receives the served version of every key loaded.
    """
    from templates_app.selectors import template_variants

    def load(key: str) -> str | None:
        if overrides and key in overrides:
            return overrides[key]
        variant = template_variants(workspace_id=workspace_id, key=key).get(language)
        if not variant or not variant.served_version:
            return None
        if loaded is not None:
            loaded[key] = variant.served_version
        return variant.served_version.body

    return load


def version_cache_key(version: TemplateVersion) -> tuple:
    """The engine's compiled-template key: the version, and its body's hash so that a reused primary key
    (SQLite after a rollback) can never serve another body."""
    return ("version", version.pk, hash(version.body))


def version_render(*, version: TemplateVersion, variables: Mapping[str, Any]) -> str:
    """Render one version with these variables; engine errors (RenderError) go to the caller."""
    includes = None
    if version.includes:
        load = include_loader(workspace_id=version.template.workspace_id, language=version.template.language)
        includes = ENGINE.resolve_includes(version.body, load)
    return ENGINE.render(
        version.body, variables, includes=includes, schema=version.variable_schema, cache_key=version_cache_key(version)
    )


def check_includers(template: PromptTemplate, body: str, includers: dict[str, str]) -> None:
    """The templates that include this one, directly or through others, must still resolve once `body` is
    served in its place: a cycle or nesting deeper than the limit is refused now, not when they are generated."""
    if not includers:
        return
    load = include_loader(
        workspace_id=template.workspace_id, language=template.language, overrides={template.key: body}
    )
    for key in sorted(includers):
        try:
            ENGINE.resolve_includes(load(key) or "", load)
        except TemplateError as exc:
            raise TemplateError(f"Template '{key}' includes '{template.key}': {exc.message}", exc.details) from None


def template_includers(template: PromptTemplate) -> dict[str, str]:
    """The served templates that include this one, directly or through others (up to the include depth limit):
    key -> the key of the template it includes on the way (this one's key when direct)."""
    parents: dict[str, set[str]] = {}
    served = (
        PromptTemplate.objects.filter(
            workspace_id=template.workspace_id,
            language=template.language,
            deleted_at__isnull=True,
            served_version__isnull=False,
        )
        .exclude(key=template.key)
        .values_list("key", "served_version__includes")
    )
    for key, includes in served:
        for child in includes or ():
            parents.setdefault(child, set()).add(key)
    includers: dict[str, str] = {}
    frontier = {template.key}
    for _ in range(ENGINE.limits.max_include_depth):  # an includer further up is too deep already
        found = {}
        for child in sorted(frontier):
            for parent in sorted(parents.get(child, ())):
                if parent not in includers and parent not in found:
                    found[parent] = child
        includers.update(found)
        frontier = set(found)
        if not frontier:
            break
    return includers
