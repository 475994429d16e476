"""The two cache moves every app makes: read through the cache, and forget on change.

Two levels. The shared cache (Redis) holds every entry; in front of it each process keeps its own
small LRU of the entries it read, so a warm request costs one Redis round trip for all its lookups.
A process-local entry is served only while its *epoch* still matches: every cache key has a scope
(`<namespace>:<workspace id>:...` has the workspace id, any other key its namespace, such as `apikey`),
every scope has an epoch token in the shared cache, and `forget` replaces the token of each scope it
touches. A request reads the epochs it needs once, at its start, in one round trip (`request_epochs`,
called by the API-key authentication); outside a request (Celery, commands), for a scope whose epoch
could not be read (Redis down), and for the rest of a request after it changed a scope, the local level
is bypassed. Local entries also expire after `LOCAL_CACHE_SECONDS` at most, which bounds staleness
when Redis missed a change (an outage during a write) to what the shared cache itself allows. Results made
from such lookups can be kept the same way, in this process alone (`memoized`).
"""

import hashlib
import logging
import os
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache, caches
from django.core.signals import request_finished, request_started
from django.db import transaction
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from promptconfig.common import metrics

logger = logging.getLogger("promptconfig.cache")

_MISSING = object()
Epoch = int | str  # an int (_new_epoch); a str in a deployment that last changed the scope before they were ints
# {scope: epoch token, or None when the local level must not be used}; None outside a request.
_epochs: ContextVar[dict[str, Epoch | None] | None] = ContextVar("cache_epochs", default=None)
# While `memoized` computes: the hit counters of the lookups made, to count again each time its result is served.
_lookups: ContextVar[list | None] = ContextVar("cache_lookups", default=None)


class LocalCache:
    """A thread-safe LRU of (epoch, expiry, value) per key."""

    def __init__(self) -> None:
        self._entries: OrderedDict[str, tuple[Epoch, float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str, epoch: Epoch | None = None) -> Any:
        """The value stored under `key` with this epoch (any epoch if None) and not expired, else _MISSING."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or (epoch is not None and entry[0] != epoch) or entry[1] < time.monotonic():
                return _MISSING
            self._entries.move_to_end(key)
            return entry[2]

    def put(self, key: str, epoch: Epoch, value: Any, timeout: float) -> None:
        size = settings.LOCAL_CACHE_ENTRIES
        if size <= 0:
            return
        expires = time.monotonic() + min(timeout, settings.LOCAL_CACHE_SECONDS)
        with self._lock:
            self._entries[key] = (epoch, expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


LOCAL = LocalCache()
MEMO = LocalCache()  # `memoized` results, apart: they must not push the entries they are made of out of LOCAL


def redis_connection():
    """The raw redis-py client behind the cache (for lists and SET NX EX), with none of the cache's error
    hiding: callers handle failures. Keys must go through `cache.make_key` to carry the deployment's prefix."""
    from django_redis import get_redis_connection

    return get_redis_connection("default")


class _HotConnection(threading.local):
    client: Any = None
    connection: Any = None


_hot = _HotConnection()
os.register_at_fork(after_in_child=lambda: _hot.__dict__.clear())  # a forked child opens its own


def redis_call(client, *args: Any) -> Any:
    """One command on this thread's own connection to `client`'s Redis, below redis-py's command layer.

    For the one or two commands of every request (the epochs and rate count, the generation log): redis-py's
    command layer (retry wrapper, connection-pool bookkeeping, observability hooks) costs more CPU than the
    round trip itself. Errors are raised as redis-py raises them. After any error but a Redis error reply the
    connection is closed, and the next call opens it again with the client's settings (database, password,
    timeouts); a connection error is retried once at once, as redis-py does (so a command may run twice: the
    callers' commands tolerate it)."""
    hot = _hot
    if hot.client is not client:
        pool = client.connection_pool
        hot.client, hot.connection = client, pool.connection_class(**pool.connection_kwargs)
    connection = hot.connection
    for retry in (True, False):
        try:
            connection.send_command(*args)
            return connection.read_response()
        except ResponseError:
            raise
        except RedisConnectionError:  # closed by Redis (restart, idle timeout): once more on a new one
            connection.disconnect()
            if not retry:
                raise
        except BaseException:
            connection.disconnect()
            raise


def scope_of(key: str) -> str:
    namespace, _, rest = key.partition(":")
    workspace_id = rest.partition(":")[0]
    return workspace_id if workspace_id.isdigit() else namespace


def _epoch_key(scope: str) -> str:
    return f"epoch:{scope}"


def _new_epoch() -> int:
    """A new epoch token: 63 random bits. An integer, which django-redis stores as its digits and reads back
    without unpickling (every request reads one or two)."""
    return secrets.randbits(63)


@dataclass(frozen=True)
class Tally:
    """A counter to increment (created to expire after `seconds`) and a key to read with it, in the round trip
    that reads a request's epochs (the rate limits: the key's window and its penalty, if any)."""

    counter: str
    seconds: int
    peek: str


def request_epochs(*scopes: str, tally: Tally | None = None) -> tuple[int | None, Any]:
    """Read, in one round trip, the epochs of these scopes (see scope_of) for the current request.

    With a `tally`, also increment its counter and read its `peek` key in the same round trip; return the
    counter's new value (None when it could not be counted: the cache is down) and the peeked value."""
    epochs = _epochs.get()
    pending = [scope for scope in dict.fromkeys(scopes) if epochs is not None and scope not in epochs]
    if not pending and tally is None:
        return None, None
    keys = [_epoch_key(scope) for scope in pending] + ([tally.peek] if tally else [])
    found, counted = _read_and_count(keys, tally)
    for scope in pending:
        epoch = found.get(_epoch_key(scope))
        if epoch is None:  # never set or lost (evicted, Redis restarted): start one; None if Redis is down
            token = _new_epoch()
            epoch = token if cache.add(_epoch_key(scope), token, None) else None
        epochs[scope] = epoch
    return counted, found.get(tally.peek) if tally else None


def _read_and_count(keys: list[str], tally: Tally | None) -> tuple[dict[str, Any], int | None]:
    """get_many(keys) and, with a tally, an increment of its counter: on Redis one pipelined round trip; on the
    local-memory cache (the embedded default) the same, in process."""
    if tally is None:
        return cache.get_many(keys), None  # {} when Redis is down
    backend = caches["default"]  # once: each attribute of the `cache` proxy looks the backend up again
    client = getattr(backend, "client", None)
    if not hasattr(client, "get_client"):  # not django-redis
        backend.add(tally.counter, 0, tally.seconds)
        try:
            return backend.get_many(keys), backend.incr(tally.counter)
        except ValueError:  # expired in between
            return backend.get_many(keys), None
    try:
        redis = client.get_client(write=True)
        names = [backend.make_key(key) for key in (*keys, tally.counter)]
        try:
            *values, count = redis_call(redis, "EVALSHA", _READ_AND_COUNT_SHA, len(names), *names, tally.seconds)
        except NoScriptError:  # Redis restarted or flushed its scripts: EVAL loads it again
            *values, count = redis_call(redis, "EVAL", _READ_AND_COUNT, len(names), *names, tally.seconds)
    except Exception as exc:  # the cache is down: no epochs, nothing counted (the request is not limited)
        logger.warning("cache unavailable for epochs and rate counting: %s", exc)
        return {}, None
    return {key: client.decode(value) for key, value in zip(keys, values, strict=True) if value is not None}, count


# MGET of every key but the last, INCR of the last (given a TTL of ARGV[1] seconds when it has none): one
# command to send and one reply to parse, where a pipeline of MGET, INCR and EXPIRE costs three of each.
_READ_AND_COUNT = """
local counter = KEYS[#KEYS]
local values = redis.call('MGET', unpack(KEYS, 1, #KEYS - 1))
local count = redis.call('INCR', counter)
if redis.call('TTL', counter) < 0 then redis.call('EXPIRE', counter, ARGV[1]) end
values[#KEYS] = count
return values
"""
_READ_AND_COUNT_SHA = hashlib.sha1(_READ_AND_COUNT.encode()).hexdigest()


def local_peek(key: str) -> Any:
    """A local entry whatever its epoch (None if absent): a hint, such as which workspace a key belongs to."""
    value = LOCAL.get(key)
    return None if value is _MISSING else value


def read_through(key: str, load: Callable[[], Any], *, timeout: int, cache_type: str | None = None) -> Any:
    """The cached value, else `load()` stored for `timeout` seconds. A load returning None is not stored
    (store a sentinel such as "" or {} to cache "nothing there"). `cache_type` counts hits and misses.

    A value may come from the process-local level: it is shared, so callers must not change it."""
    epoch = _epoch_of(key)
    value = _MISSING if epoch is None else LOCAL.get(key, epoch)
    hit = value is not _MISSING
    if not hit:
        value = cache.get(key)
        hit = value is not None
        if not hit:
            value = load()
            if value is not None:
                cache.set(key, value, timeout)
        if value is not None and epoch is not None:
            LOCAL.put(key, epoch, value, timeout)
    if cache_type:
        labels = {"cache_type": cache_type, "workspace": scope_of(key)}
        hits = metrics.child(metrics.cache_hits_total, **labels)
        (hits if hit else metrics.child(metrics.cache_misses_total, **labels)).inc()
        lookups = _lookups.get()
        if lookups is not None:
            lookups.append(hits)
    return value


def _epoch_of(key: str) -> Epoch | None:
    """The current request's epoch for the key's scope (read now if the request has not yet); None outside a
    request and while the local levels must not be used."""
    epochs = _epochs.get()
    if epochs is None:
        return None
    scope = scope_of(key)
    if scope not in epochs:  # usually read already, with the API key's
        request_epochs(scope)
    return epochs[scope]


def memoized(key: str, compute: Callable[[], tuple[Any, float]]) -> tuple[Any, bool]:
    """A result derived from cached lookups, kept by this process alone: (the result, whether it was kept).

    `compute()` returns the result and how many seconds it stays true (it is kept at most LOCAL_CACHE_SECONDS,
    and not at all for 0 or less). Like a local entry it is served only while the epoch of its key's scope holds,
    so every lookup it is made of must be read through the cache in that same scope (`<namespace>:<workspace
    id>:...`): any change there makes it stale, in every process. The hot runtime answers are memoized so: a
    warm prompt-data call or generate costs one lookup instead of the five to seven they are made of. Each time a
    kept result is served, the cache hits and misses its lookups counted are counted again, as hits: the
    `cache_hits_total` series keep counting what the lookups would have found. Outside a request, and while the
    scope's epoch is unknown, `compute()` runs every time. The result is shared: callers must not change it."""
    epoch = _epoch_of(key)
    if epoch is not None:
        kept = MEMO.get(key, epoch)
        if kept is not _MISSING:
            value, lookups = kept
            for counter in lookups:
                counter.inc()
            return value, True
    outer = _lookups.get()
    token = _lookups.set([])
    try:
        value, seconds = compute()
        lookups = tuple(_lookups.get())
    finally:
        _lookups.reset(token)
    if outer is not None:
        outer.extend(lookups)
    if epoch is not None and seconds > 0 and _epoch_of(key) == epoch:  # not if this request changed the scope
        MEMO.put(key, epoch, (value, lookups), seconds)
    return value, False


def bump(*keys: str) -> None:
    """Make the process-local entries of these keys' scopes stale everywhere (and for this request)."""
    scopes = set(map(scope_of, keys))
    cache.set_many({_epoch_key(scope): _new_epoch() for scope in scopes}, None)
    epochs = _epochs.get()
    if epochs is not None:
        epochs.update(dict.fromkeys(scopes))


def forget(*keys: str) -> None:
    """Drop cache entries now, and again after commit: a reader may re-cache the old rows in between."""

    def drop() -> None:
        cache.delete_many(keys)
        bump(*keys)

    drop()
    transaction.on_commit(drop)


def _request_started(**kwargs) -> None:
    _epochs.set({})


def _request_finished(**kwargs) -> None:
    _epochs.set(None)


request_started.connect(_request_started, dispatch_uid="promptconfig.cache.request_started")
request_finished.connect(_request_finished, dispatch_uid="promptconfig.cache.request_finished")
