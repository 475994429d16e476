"""Per-API-key rate limits: a fixed window per (key, class of call), counted in the shared cache.

Three classes, each a setting of the form "<count>/<second|minute|hour|day>" (empty or 0: no limit):
`runtime` (reads and the runtime calls), `write` (creates, updates, deletes) and `expensive` (batches,
ensure-version, cache control, A/B analysis). A view names its class in `throttle_scope`; otherwise safe
methods are `runtime` and the others `write`.

The count costs no extra network round trip on the hot path: the API-key lookup reads the cache epochs and
increments the key's counter in the same pipeline (`promptconfig.common.cache.request_epochs`). Only a
request whose key is not yet in the process's cache counts separately. With the cache down nothing is
limited (the service keeps answering).
"""

import math
import time
from dataclasses import dataclass

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS

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
SCOPES = ("runtime", "write", "expensive")


@dataclass(frozen=True)
class Rate:
    count: int
    seconds: int


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
    """A call already counted in a window (by the API-key lookup's round trip)."""

    cache_key: str
    count: int


def count_call(window: Window, weight: int = 1) -> int | None:
    """Add `weight` to the window's counter; its new value, or None when the cache is down."""
    from promptconfig.common.cache import request_epochs

    return request_epochs(count=(window.cache_key, window.rate.seconds), by=weight)


def slow_call_weight(scope: str) -> int:
    """What one slow call adds to its class's window beyond itself: enough that RATE_LIMIT_EXPENSIVE slow calls
    use the whole window, as many expensive ones would."""
    rate, expensive = rate_for(scope), rate_for("expensive")
    if rate is None or expensive is None or scope == "expensive":
        return 0
    return max(0, rate.count // expensive.count - 1)
