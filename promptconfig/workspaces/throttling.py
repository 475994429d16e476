"""DRF throttling by API key: the class of the call (runtime, write, expensive) sets the window and limit, and
a key whose calls were slow waits out its penalty (promptconfig/common/ratelimit.py)."""

import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from promptconfig.common.ratelimit import count_call, penalize, scope_of_call, window_for
from promptconfig.workspaces.authentication import ApiPrincipal


class ApiKeyThrottle(BaseThrottle):
    """Counts the call in its key's window (unless the API-key lookup counted it already) and refuses it past
    the limit or during the key's penalty: 429 rate_limited with Retry-After."""

    def allow_request(self, request, view) -> bool:
        principal = request.user
        if not isinstance(principal, ApiPrincipal):
            return True
        window = window_for(principal.api_key.pk, scope_of_call(view, request.method))
        if window is None:
            return True
        counted = getattr(request, "rate_counted", None)
        if counted is None or counted.cache_key != window.cache_key:
            counted = count_call(principal.api_key.pk, window)
        now = time.time()
        if counted.penalty_until and counted.penalty_until > now:
            self.retry_after = counted.penalty_until - now
            return False
        self.retry_after = window.retry_after
        return counted.count is None or counted.count <= window.rate.count

    def wait(self) -> float:
        return self.retry_after


def charge_if_slow(request, view, started: float) -> None:
    """A render call (a view with `penalize_slow`) that kept a worker longer than RATE_LIMIT_SLOW_MS puts its key
    in the penalty box. Calls that are slow by nature (a provider probe, analytics over much data) never do."""
    if not getattr(view, "penalize_slow", False):
        return
    principal = getattr(request, "user", None)
    elapsed = time.monotonic() - started
    if isinstance(principal, ApiPrincipal) and elapsed * 1000 >= settings.RATE_LIMIT_SLOW_MS:
        penalize(principal.api_key.pk, elapsed)
