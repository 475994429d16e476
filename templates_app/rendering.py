"""The server's use of promptconfig_client's engine: one engine, workspace-scoped includes."""

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from promptconfig_client.engine import Engine, Limits
from templates_app.models import TemplateVersion

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
