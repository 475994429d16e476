"""The two cache moves every app makes: read through the cache, and forget on change."""

from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from django.db import transaction

from promptconfig.common import metrics


def read_through(key: str, load: Callable[[], Any], *, timeout: int, cache_type: str | None = None) -> Any:
    """The cached value, else `load()` stored for `timeout` seconds. A load returning None is not stored
    (store a sentinel such as "" or {} to cache "nothing there"). `cache_type` counts hits and misses."""
    value = cache.get(key)
    if cache_type:
        (metrics.cache_hits_total if value is not None else metrics.cache_misses_total).labels(
            cache_type=cache_type
        ).inc()
    if value is None:
        value = load()
        if value is not None:
            cache.set(key, value, timeout)
    return value


def forget(*keys: str) -> None:
    """Drop cache entries now, and again after commit: a reader may re-cache the old rows in between."""
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))
