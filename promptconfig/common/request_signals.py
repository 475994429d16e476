"""Django's per-request connection upkeep, for a WSGI server's threads, at a fraction of its cost.

At each request's start and end Django runs `close_old_connections` (every database connection this thread
opened is closed if unusable or older than CONN_MAX_AGE) and at its end `close_caches` (every cache this
thread used is closed). Both first ask which connections the thread has, through `asgiref.Local`s; a database
handle's Local asks asyncio for a running loop (a raised RuntimeError) at each look. Together that was about
0.1 M CPU instructions a request: a tenth of a warm prompt-data call (tests/perf/README.md).

A WSGI server's thread keeps the same handles for its whole life, so these receivers look them up once per
thread and then do Django's work on them: `close_if_unusable_or_obsolete()` on each database handle, `close()`
on each cache. A change of DATABASES or CACHES (only tests make one) replaces Django's handles: the kept ones
are forgotten then. `promptconfig/wsgi.py` installs them in place of Django's.

Without DEBUG the server also skips `reset_queries`, which empties every database connection's query log at each
request's start: that log is only written with DEBUG on (and then holds at most 9,000 queries).
"""

import threading

from django.conf import settings
from django.core.cache import caches, close_caches
from django.core.signals import request_finished, request_started, setting_changed
from django.db import close_old_connections, connections, reset_queries
from django.dispatch import receiver


class _Handles(threading.local):
    databases: list | None = None
    caches: list | None = None


_handles = _Handles()


def _close_old_connections(**kwargs) -> None:
    handles = _handles
    if handles.databases is None:
        handles.databases = connections.all()  # a handle of each alias; none of them connects
    for connection in handles.databases:
        connection.close_if_unusable_or_obsolete()


def _close_caches(**kwargs) -> None:
    handles = _handles
    if handles.caches is None:
        handles.caches = caches.all()
    for cache in handles.caches:
        cache.close()


@receiver(setting_changed)
def _forget(*, setting: str, **kwargs) -> None:
    global _handles
    if setting in ("DATABASES", "CACHES"):
        _handles = _Handles()  # for every thread


def install() -> None:
    """Run these receivers in place of Django's (for a WSGI server; see the module's docstring)."""
    for signal in (request_started, request_finished):
        if signal.disconnect(close_old_connections):
            signal.connect(_close_old_connections)
    if request_finished.disconnect(close_caches):
        request_finished.connect(_close_caches)
    if not settings.DEBUG:
        request_started.disconnect(reset_queries)
