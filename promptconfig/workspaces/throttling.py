"""DRF throttling by API key: the class of the call (runtime, write, expensive) sets the window and limit."""

import time

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from promptconfig.common.ratelimit import count_call, scope_of_call, slow_call_weight, window_for
from promptconfig.workspaces.authentication import ApiPrincipal


class ApiKeyThrottle(BaseThrottle):
    """Counts the call in its key's window (unless the API-key lookup counted it already) and refuses it past
    the limit: 429 rate_limited with Retry-After."""

    def allow_request(self, request, view) -> bool:
        principal = request.user
        if not isinstance(principal, ApiPrincipal):
            return True
        self.window = window_for(principal.api_key.pk, scope_of_call(view, request.method))
        if self.window is None:
            return True
        counted = getattr(request, "rate_counted", None)
        if counted is not None and counted.cache_key == self.window.cache_key:
            count = counted.count
        else:
            count = count_call(self.window)
        return count is None or count <= self.window.rate.count

    def wait(self) -> float:
        return self.window.retry_after


def charge_if_slow(request, view, started: float) -> None:
    """A call that kept a worker longer than RATE_LIMIT_SLOW_MS weighs in its window like an expensive call."""
    principal = getattr(request, "user", None)
    if not isinstance(principal, ApiPrincipal) or (time.monotonic() - started) * 1000 < settings.RATE_LIMIT_SLOW_MS:
        return
    scope = scope_of_call(view, request.method)
    window, weight = window_for(principal.api_key.pk, scope), slow_call_weight(scope)
    if window is not None and weight:
        count_call(window, weight)
