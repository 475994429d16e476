"""The client's logic, written once for PromptConfig (threads) and AsyncPromptConfig (asyncio).

Nothing here does I/O. A call to the server is a *plan*: a generator that yields `Send` (make this HTTP attempt)
and `Sleep` (back off), receives each attempt's `Reply` or `Failure`, and returns the final Reply or raises the
error. Retries, the deadline, Retry-After, the circuit breaker, the prompt cache, stale-if-error, fallbacks, the
snapshot file and the stats live here; the two front ends only run plans (`sync.py`, `aio.py`) and supply
their own single-flight and background primitives.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import os
import random
import tempfile
import threading
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import CircuitOpen, PromptConfigError, ServiceUnavailable, error_for
from .prompt import Prompt

logger = logging.getLogger("promptconfig_client")
logger.addHandler(logging.NullHandler())  # a library: the application decides where log records go

PROMPT_DATA = "/api/v1/prompt-data"
PROMPT_DATA_BATCH = "/api/v1/prompt-data/batch"
BATCH_LIMIT = 100
RETRY_STATUSES = frozenset({429, 502, 503, 504})
BACKOFF_BASE = 0.2  # seconds: the first retry waits up to this, the nth up to BASE * 2**n (full jitter)
BACKOFF_CAP = 5.0
SNAPSHOT_INTERVAL = 1.0
SNAPSHOT_FORMAT = 1


# --- settings --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Options:
    base_url: str
    api_key: str
    timeout: float = 2.0
    retries: int = 3
    cache_ttl: float | None = None
    max_stale: float = 86400.0
    snapshot_path: str | None = None
    breaker_failures: int = 5
    breaker_reset: float = 30.0

    @classmethod
    def build(cls, base_url: str | None, api_key: str | None, **options: Any) -> Options:
        base_url = (base_url or os.environ.get("PROMPTCONFIG_URL") or "").rstrip("/")
        api_key = api_key or os.environ.get("PROMPTCONFIG_API_KEY") or ""
        if not base_url:
            raise ValueError("base_url is required (or set PROMPTCONFIG_URL).")
        if not api_key:
            raise ValueError("api_key is required (or set PROMPTCONFIG_API_KEY).")
        built = cls(base_url=base_url, api_key=api_key, **options)
        if built.timeout <= 0 or built.retries < 0 or built.max_stale < 0 or built.breaker_failures < 1:
            raise ValueError("timeout must be positive; retries, max_stale and breaker_failures must not be negative.")
        return built

    @property
    def namespace(self) -> str:
        """Cache entries belong to one server and key (so to one workspace): a snapshot of another is ignored."""
        return hashlib.sha256(f"{self.base_url}\n{self.api_key}".encode()).hexdigest()[:16]


# --- what a plan asks the front end to do, and what it gets back ---------------------------------------------
@dataclass(frozen=True)
class Request:
    method: str
    path: str
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Send:
    request: Request
    timeout: float


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: Any  # parsed JSON, or None


@dataclass(frozen=True)
class Failure:
    """An attempt that got no HTTP answer: a connect error, a timeout, a broken connection."""

    message: str


Plan = Generator[Send | Sleep, Reply | Failure | None, Reply]


# --- stats and breaker -----------------------------------------------------------------------------------------
COUNTERS = (
    "requests",
    "network_errors",
    "cache_hits",
    "cache_misses",
    "revalidations",
    "not_modified",
    "stale_served",
    "snapshot_served",
    "fallbacks_served",
    "retries",
    "breaker_rejections",
)


class Stats:
    def __init__(self) -> None:
        self._counts = dict.fromkeys(COUNTERS, 0)
        self._lock = threading.Lock()

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def read(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)


class Breaker:
    """Closed until `failures` calls in a row fail; then open (no call touches the network) for `reset` seconds;
    then half open: one trial call is let through, and its outcome closes or reopens the circuit."""

    def __init__(self, failures: int, reset: float, clock=time.monotonic) -> None:
        self.failures, self.reset, self._clock = failures, reset, clock
        self._failed = 0
        self._opened_at: float | None = None
        self._trial = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            if self._opened_at is None:
                return "closed"
            return "half_open" if self._trial or self._clock() - self._opened_at >= self.reset else "open"

    def allow(self) -> bool:
        with self._lock:
            if self._opened_at is None:
                return True
            if self._trial or self._clock() - self._opened_at < self.reset:
                return False
            self._trial = True  # this caller is the trial
            return True

    def succeeded(self) -> None:
        with self._lock:
            self._failed, self._opened_at, self._trial = 0, None, False

    def failed(self) -> None:
        with self._lock:
            self._failed += 1
            if self._trial or self._failed >= self.failures:
                self._opened_at, self._trial = self._clock(), False


# --- the cache -------------------------------------------------------------------------------------------------
FRESH, STALE, MISSING = "fresh", "stale", "missing"


@dataclass
class Entry:
    body: dict[str, Any]
    etag: str | None
    fetched: float
    expires: float
    origin: str  # "network" or "snapshot"
    served: dict[str, Prompt] = field(default_factory=dict)  # the Prompt per source, built once

    def prompt(self, source: str) -> Prompt:
        prompt = self.served.get(source)
        if prompt is None:
            prompt = self.served[source] = Prompt.from_body(
                self.body, etag=self.etag, fetched=self.fetched, expires=self.expires, source=source
            )
        return prompt


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After as seconds (a number or an HTTP date), None if absent or unreadable."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def reply_error(reply: Reply) -> PromptConfigError:
    error = reply.body.get("error") if isinstance(reply.body, dict) else None
    if not isinstance(error, dict):
        return error_for("", f"HTTP {reply.status}", status=reply.status)
    return error_for(error.get("code", ""), error.get("message", ""), error.get("details"), reply.status)


def cannot_answer(error: PromptConfigError) -> bool:
    """The server could not answer (stale-if-error applies), as opposed to an answer that refuses the request."""
    return isinstance(error, CircuitOpen) or error.status is None or error.status == 429 or error.status >= 500


class Core:
    """Everything PromptConfig and AsyncPromptConfig share; one instance per client."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.stats = Stats()
        self.breaker = Breaker(options.breaker_failures, options.breaker_reset)
        self.entries: dict[tuple, Entry] = {}
        self._lock = threading.Lock()
        self._dirty = False
        self._saved_at = 0.0
        self._timer: threading.Timer | None = None
        if options.snapshot_path:
            self._load_snapshot()

    # -- calls ---------------------------------------------------------------------------------------------------
    def call(self, request: Request) -> Plan:
        """One API call: attempts with retries and backoff inside the deadline, through the breaker. Returns the
        Reply of a 2xx/304; raises the API's error (or ServiceUnavailable, CircuitOpen)."""
        options = self.options
        if not self.breaker.allow():
            self.stats.add("breaker_rejections")
            raise CircuitOpen("The circuit is open after repeated failures: not calling the server.")
        deadline = time.monotonic() + options.timeout * (options.retries + 1)
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            result = yield Send(request, min(options.timeout, max(remaining, 0.001)))
            self.stats.add("requests")
            if isinstance(result, Failure):
                self.stats.add("network_errors")
                error, wait = ServiceUnavailable(f"The server could not be reached: {result.message}"), None
            elif result.status in RETRY_STATUSES:
                error, wait = reply_error(result), retry_after(result.headers)
            else:
                if result.status >= 500:
                    self.breaker.failed()
                    raise reply_error(result)
                self.breaker.succeeded()
                if result.status >= 400:
                    raise reply_error(result)
                return result
            if wait is None:
                wait = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))
            if attempt >= options.retries or time.monotonic() + wait >= deadline:
                self.breaker.failed()
                raise error
            attempt += 1
            self.stats.add("retries")
            yield Sleep(wait)

    # -- prompts -------------------------------------------------------------------------------------------------
    @staticmethod
    def target(
        *,
        user_id: str = "",
        template_id: str | None = None,
        node_name: str | None = None,
        label: str | None = None,
        version: int | None = None,
        language: str | None = None,
    ) -> dict[str, Any]:
        """The prompt-data request body for these options (validated here: a typo fails before any I/O)."""
        if bool(template_id) == bool(node_name):
            raise ValueError("Give exactly one of template_id and node_name.")
        if version is not None and label:
            raise ValueError("Give version or label, not both.")
        body = {"user_id": user_id or "", "template_id": template_id, "node_name": node_name}
        body.update(label=label, version=version, language=language)
        return {name: value for name, value in body.items() if value is not None}

    @staticmethod
    def key(target: Mapping[str, Any]) -> tuple:
        get = target.get
        return (get("template_id"), get("node_name"), get("user_id"), get("label"), get("version"), get("language"))

    def lookup(self, key: tuple) -> tuple[Entry | None, str]:
        entry = self.entries.get(key)
        if entry is None:
            return None, MISSING
        now = time.time()
        if now < entry.expires:
            return entry, FRESH
        return entry, STALE if now < entry.expires + self.options.max_stale else MISSING

    def serve(self, entry: Entry, state: str) -> Prompt:
        """A cached entry: `cache` (or `snapshot`) while fresh, `stale` (or `snapshot`) after."""
        if entry.origin == "snapshot":
            self.stats.add("snapshot_served")
            return entry.prompt("snapshot")
        if state == FRESH:
            self.stats.add("cache_hits")
            return entry.prompt("cache")
        self.stats.add("stale_served")
        return entry.prompt("stale")

    def fetch(self, key: tuple, target: Mapping[str, Any]) -> Plan:
        """Fetch (or revalidate, with the entry's ETag) one prompt-data entry and store it."""
        previous = self.entries.get(key)
        headers = {"If-None-Match": previous.etag} if previous is not None and previous.etag else {}
        if previous is not None:
            self.stats.add("revalidations")
        else:
            self.stats.add("cache_misses")
        try:
            reply = yield from self.call(Request("POST", PROMPT_DATA, json=dict(target), headers=headers))
        except PromptConfigError as error:
            if not cannot_answer(error):
                self.entries.pop(key, None)  # the server said no (deleted, archived, key revoked): forget it
            raise
        if reply.status == 304 and previous is not None:
            self.stats.add("not_modified")
            entry = self._entry(previous.body, previous.etag, reply.headers)
        else:
            entry = self._entry(reply.body, reply.headers.get("etag"), reply.headers)
        self.entries[key] = entry
        self._changed()
        return entry

    def _entry(self, body: dict, etag: str | None, headers: Mapping[str, str]) -> Entry:
        now = time.time()
        ttl = self.options.cache_ttl if self.options.cache_ttl is not None else float(body.get("cache_ttl") or 0)
        return Entry(body=body, etag=etag, fetched=now, expires=now + ttl, origin="network")

    def recover(self, key: tuple, error: PromptConfigError, fallback: str | None, target: Mapping[str, Any]) -> Prompt:
        """After a failed fetch: a stale entry the server could not refresh, else the fallback, else the error."""
        entry, state = self.lookup(key)
        if entry is not None and state != MISSING and cannot_answer(error):
            logger.warning("serving a stale prompt for %s: %s", target, error.message)
            return self.serve(entry, STALE)
        if fallback is not None:
            logger.warning("serving the fallback prompt for %s: %s", target, error.message)
            self.stats.add("fallbacks_served")
            return Prompt.fallback(fallback, template_id=target.get("template_id") or target.get("node_name", ""))
        raise error

    def prefetched(self, targets: list[dict[str, Any]], reply: Reply) -> list[Prompt | PromptConfigError]:
        """Store the entries of a prompt-data batch answer; each result is a Prompt or the item's own error."""
        results: list[Prompt | PromptConfigError] = []
        for target, item in zip(targets, reply.body["results"], strict=True):
            if "error" in item:
                error = item["error"]
                results.append(error_for(error.get("code", ""), error.get("message", ""), error.get("details")))
                continue
            body = {name: value for name, value in item.items() if name != "etag"}
            entry = self.entries[self.key(target)] = self._entry(body, item.get("etag"), {})
            results.append(entry.prompt("network"))
        self._changed()
        return results

    def clear(self) -> None:
        self.entries.clear()
        self._changed()

    # -- the snapshot file ---------------------------------------------------------------------------------------
    def _changed(self) -> None:
        self._dirty = True
        self.save_snapshot()

    def save_snapshot(self, *, force: bool = False) -> None:
        """Write the entries to snapshot_path (atomically: a temp file renamed over it), at most once a second
        unless forced: a change within the second is written by a timer when the second is over."""
        path = self.options.snapshot_path
        if not path or not self._dirty:
            return
        wait = SNAPSHOT_INTERVAL - (time.monotonic() - self._saved_at)
        if not force and wait > 0:
            with self._lock:
                if self._timer is None:  # write it when the second is over
                    self._timer = threading.Timer(wait, self._timed_save)
                    self._timer.daemon = True
                    self._timer.start()
            return
        with self._lock:
            self._dirty, self._saved_at = False, time.monotonic()
            rows = [
                {"key": list(key), "body": e.body, "etag": e.etag, "fetched": e.fetched, "expires": e.expires}
                for key, e in list(self.entries.items())
            ]
            document = {"format": SNAPSHOT_FORMAT, "namespace": self.options.namespace, "entries": rows}
            folder = os.path.dirname(os.path.abspath(path))
            try:
                with tempfile.NamedTemporaryFile("w", dir=folder, prefix=".promptconfig-", delete=False) as handle:
                    json.dump(document, handle)
                os.replace(handle.name, path)
            except OSError as exc:
                logger.warning("could not write the snapshot %s: %s", path, exc)
                self._dirty = True

    def _timed_save(self) -> None:
        self._timer = None
        self.save_snapshot()

    def close(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
        self.save_snapshot(force=True)

    def _load_snapshot(self) -> None:
        path = self.options.snapshot_path
        try:
            with open(path) as handle:
                document = json.load(handle)
            if document.get("format") != SNAPSHOT_FORMAT or document.get("namespace") != self.options.namespace:
                logger.warning("ignoring the snapshot %s: made by another server or key", path)
                return
            for row in document["entries"]:
                self.entries[tuple(row["key"])] = Entry(
                    body=row["body"],
                    etag=row["etag"],
                    fetched=row["fetched"],
                    expires=row["expires"],
                    origin="snapshot",
                )
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("ignoring the unreadable snapshot %s: %s", path, exc)

    def read_stats(self) -> dict[str, Any]:
        return {**self.stats.read(), "breaker_state": self.breaker.state, "entries": len(self.entries)}


# --- request bodies of the server-side calls -------------------------------------------------------------------
def _present(**fields: Any) -> dict[str, Any]:
    return {name: value for name, value in fields.items() if value is not None}


def generate_request(
    user_id: str = "",
    *,
    template_id: str | None = None,
    node_name: str | None = None,
    context: Mapping[str, Any] | None = None,
    custom_variables: Mapping[str, Any] | None = None,
    language: str | None = None,
    version: int | None = None,
    label: str | None = None,
) -> dict[str, Any]:
    return _present(
        user_id=user_id,
        template_id=template_id,
        node_name=node_name,
        context=dict(context) if context else None,
        custom_variables=dict(custom_variables) if custom_variables else None,
        language=language,
        version=version,
        label=label,
    )


def feedback_request(
    rating: int | None = None, effectiveness_score: float | None = None, metrics: Mapping[str, float] | None = None
) -> dict[str, Any]:
    return _present(rating=rating, effectiveness_score=effectiveness_score, metrics=dict(metrics) if metrics else None)


def chunks(items: list, size: int = BATCH_LIMIT) -> list[list]:
    return [items[start : start + size] for start in range(0, len(items), size)]


class ClientBase:
    """What PromptConfig and AsyncPromptConfig share besides the plans: construction, stats, cache_clear."""

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 2.0,
        retries: int = 3,
        cache_ttl: float | None = None,
        max_stale: float = 86400,
        snapshot_path: str | None = None,
        breaker_failures: int = 5,
        breaker_reset: float = 30.0,
        transport: Any = None,
    ) -> None:
        from . import _http  # httpx is imported here, not at import: `import promptconfig_client` stays fast

        options = Options.build(
            base_url,
            api_key,
            timeout=timeout,
            retries=retries,
            cache_ttl=cache_ttl,
            max_stale=max_stale,
            snapshot_path=snapshot_path,
            breaker_failures=breaker_failures,
            breaker_reset=breaker_reset,
        )
        self._core = Core(options)
        self._http_module = _http
        self._http = getattr(_http.httpx, self._http_class)(**_http.client_options(options, transport))
        self._start()

    _http_class = "Client"  # the httpx client class a front end runs on

    def _start(self) -> None:
        """A front end's own state (its single-flight table, its background workers)."""

    def stats(self) -> dict[str, Any]:
        """Counters since construction, the breaker's state and the number of cached entries."""
        return self._core.read_stats()

    def cache_clear(self) -> None:
        self._core.clear()
