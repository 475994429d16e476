"""Admin login throttling (django-axes): who the client is, and what a locked-out client is told."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from promptconfig.common.exceptions import is_api_path, json_error_response

_PAGE = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Too many login attempts</title></head>
<body>
<h1>Too many failed login attempts</h1>
<p>{}</p>
</body>
</html>
"""


def client_ip(request: HttpRequest) -> str:
    """The address failed logins are counted against (with the username).

    Behind the proxy (BEHIND_PROXY), REMOTE_ADDR is the proxy's: take the address the proxy appended to
    X-Forwarded-For, the right-most one, which a client cannot forge (entries left of it can be).
    """
    if settings.BEHIND_PROXY:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded[-1]:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR", "")


def locked_out(request: HttpRequest, original_response=None, credentials=None) -> HttpResponse:
    """django-axes' AXES_LOCKOUT_CALLABLE: a plain page (JSON under /api/), status 429, with Retry-After."""
    cool_off = settings.AXES_COOLOFF_TIME
    if cool_off:
        minutes = max(1, round(cool_off.total_seconds() / 60))
        message = f"Logins for this account from your address are locked for {minutes} minute(s); try again later."
    else:
        message = "Logins for this account from your address are locked until an administrator resets them."
    if is_api_path(request):
        response = json_error_response(429, "rate_limited", message)
    else:
        response = HttpResponse(format_html(_PAGE, message), status=429)
    if cool_off:
        response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
