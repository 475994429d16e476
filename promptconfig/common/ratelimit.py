"""Per-API-key rate limits: a fixed window per (key, class of call), counted in the shared cache, and a
penalty for keys whose calls are slow.

Three classes, each a setting of the form "<count>/<second|minute|hour|day>" (empty or 0: no limit):
`runtime` (reads and the runtime calls), `write` (creates, updates, deletes) and `expensive` (batches,
ensure-version, cache control, A/B analysis). A view names its class in `throttle_scope`; otherwise safe
methods are `runtime` and the others `write`.

A render call (generate, batch, generate-prompt, prompt-data: views with `penalize_slow`) that takes longer
than RATE_LIMIT_SLOW_MS puts its key in a penalty box for RATE_LIMIT_SLOW_PENALTY times as long: meanwhile
every call of that key is refused. Calls slow by nature (a provider probe, analytics) never do. A key
flooding the service with renders that run to their budget so gets about 1 / (1 + penalty) of one worker,
and the other keys' calls wait for at most one such render.

The count costs no extra network round trip on the hot path: the API-key lookup reads the cache epochs,
increments the key's counter and reads its penalty in the same pipeline
(`promptconfig.common.cache.request_epochs`). Only a request whose key is not yet in the process's cache
counts separately. With the cache down nothing is limited (the service keeps answering).
"""

import functools
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from rest_framework.permissions import SAFE_METHODS

from promptconfig.common.cache import Tally, request_epochs

PERIODS = {
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


@functools.lru_cache(maxsize=64)  # every call reads its class's rate: parse each setting once
def parse_rate(text: str) -> Rate | None:
    """`"600/min"` -> Rate(600, 60); empty or a zero count -> None (no limit). ValueError if malformed."""
    if not text or not text.strip():
        return None
    count, _, period = text.strip().partition("/")
    if not count.isascii() or not count.isdigit() or period not in PERIODS:
        raise ValueError(f"A rate is '<count>/<{'|'.join(PERIODS)}>', not {text!r}.")
    return Rate(int(count), PERIODS[period]) if int(count) else None


def rate_for(scope: str) -> Rate | None:
    return parse_rate(settings.RATE_LIMITS.get(scope, ""))


def scope_of_call(view, method: str) -> str:
    """A viewset action's class (`action_throttle_scopes`), else the view's (`throttle_scope`), else by method."""
    per_action = getattr(view, "action_throttle_scopes", {}).get(getattr(view, "action", None))
    return per_action or getattr(view, "throttle_scope", None) or ("runtime" if method in SAFE_METHODS else "write")


@dataclass(frozen=True)
class Window:
    """The counter of one key and class for the current window, and when the window ends."""

    cache_key: str
    rate: Rate
    ends_at: float

    @property
    def retry_after(self) -> int:
        return max(1, math.ceil(self.ends_at - time.time()))


def window_for(api_key_id: int, scope: str) -> Window | None:
    rate = rate_for(scope)
    if rate is None:
        return None
    start = int(time.time() // rate.seconds * rate.seconds)
    return Window(f"ratelimit:{api_key_id}:{scope}:{start}", rate, start + rate.seconds)


@dataclass(frozen=True)
class Counted:
    """A call already counted in a window (by the API-key lookup's round trip), with the key's penalty."""

    cache_key: str
    count: int | None
    penalty_until: float | None


def penalty_key(api_key_id: int) -> str:
    return f"ratelimit:{api_key_id}:penalty"


def tally(api_key_id: int, window: Window) -> Tally:
    return Tally(counter=window.cache_key, seconds=window.rate.seconds, peek=penalty_key(api_key_id))


def count_call(api_key_id: int, window: Window) -> Counted:
    """Count a call in its window (one round trip) and read the key's penalty with it."""
    count, penalty = request_epochs(tally=tally(api_key_id, window))
    return Counted(window.cache_key, count, penalty)


def penalize(api_key_id: int, elapsed: float) -> None:
    """After a slow call: the key's calls are refused for RATE_LIMIT_SLOW_PENALTY times as long as it took
    (at most a minute), so one key cannot keep the workers busy with slow renders."""
    seconds = min(60.0, elapsed * settings.RATE_LIMIT_SLOW_PENALTY)
    if seconds > 0:
        cache.set(penalty_key(api_key_id), time.time() + seconds, math.ceil(seconds))
