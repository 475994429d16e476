"""Cache control for a workspace: hit/miss figures, invalidation by pattern, warm-up.

Every cache key the service writes starts with `<namespace>:<workspace id>:`, so a pattern is always
confined to the caller's workspace.
"""

import fnmatch
import os
import re

from django.core.cache import cache
from prometheus_client import REGISTRY, CollectorRegistry, multiprocess

from promptconfig.common.cache import bump
from promptconfig.common.errors import ValidationFailed
from promptconfig.workspaces.models import Workspace
from templates_app.models import PromptTemplate
from templates_app.selectors import template_variants, variants_cache_key

NAMESPACES = ("templates", "profiles", "prompts", "nodes", "versions")
PATTERN = re.compile(r"(\*|[a-z]+)(:[A-Za-z0-9_*?.:-]*)?")
MAX_WARMUP = 1000


def _registry() -> CollectorRegistry:
    """Counters summed over every worker process under gunicorn (multiprocess mode), else this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return REGISTRY


def cache_stats(*, workspace: Workspace) -> dict:
    """Hits and misses of this workspace's lookups (templates, profiles, prompts), over every worker process."""
    by_type: dict[str, dict[str, float]] = {}
    for metric in _registry().collect():
        if metric.name not in ("cache_hits", "cache_misses"):
            continue
        field = "hits" if metric.name == "cache_hits" else "misses"
        for sample in metric.samples:
            if sample.name.endswith("_total") and sample.labels.get("workspace") == str(workspace.pk):
                counts = by_type.setdefault(sample.labels["cache_type"], {"hits": 0, "misses": 0})
                counts[field] += int(sample.value)
    hits = sum(counts["hits"] for counts in by_type.values())
    misses = sum(counts["misses"] for counts in by_type.values())
    return {
        "hits": hits,
        "misses": misses,
        "hit_rate": round(hits / (hits + misses), 4) if hits + misses else 0.0,
        "backend": "redis" if hasattr(cache, "delete_pattern") else "locmem",
        "by_type": by_type,
    }


def _delete_pattern(pattern: str) -> int:
    if hasattr(cache, "delete_pattern"):  # django-redis
        return cache.delete_pattern(pattern) or 0
    # The local-memory cache has no pattern delete: match its stored (prefixed) keys under its lock.
    stored = re.compile(fnmatch.translate(cache.make_key(pattern)))
    with cache._lock:
        doomed = [key for key in cache._cache if stored.match(key)]
        for key in doomed:
            cache._cache.pop(key, None)
            cache._expire_info.pop(key, None)
    return len(doomed)


def cache_invalidate(*, workspace: Workspace, pattern: str) -> int:
    """Delete the caller's cache entries matching `namespace:rest` (`templates:*`, `prompts:*`, `*`)."""
    match = PATTERN.fullmatch(pattern)
    if not match or (match.group(1) != "*" and match.group(1) not in NAMESPACES):
        raise ValidationFailed(
            f"The pattern must be '<namespace>:<glob>' with a namespace among {', '.join(NAMESPACES)}, or '*'.",
            details={"pattern": ["Unknown namespace or characters."]},
        )
    namespace, rest = match.group(1), (match.group(2) or ":*")[1:] or "*"
    namespaces = NAMESPACES if namespace == "*" else (namespace,)
    bump(f"{namespace}:{workspace.pk}:")  # the processes' local copies go too (the scope is the workspace)
    return sum(_delete_pattern(f"{name}:{workspace.pk}:{rest}") for name in namespaces)


def cache_warmup(*, workspace: Workspace, keys: list[str] | None = None) -> int:
    """Load templates into the cache (all published ones without `keys`); count the keys found."""
    if keys is None:
        keys = list(
            PromptTemplate.objects.filter(workspace=workspace, deleted_at__isnull=True, status="published")
            .values_list("key", flat=True)
            .distinct()[:MAX_WARMUP]
        )
    cache_keys = {key: variants_cache_key(workspace.pk, key) for key in keys}
    cache.delete_many(cache_keys.values())
    bump(*cache_keys.values())  # load from the database, not from this process's copies
    warmed = 0
    for key in cache_keys:
        warmed += bool(template_variants(workspace_id=workspace.pk, key=key))
    return warmed
