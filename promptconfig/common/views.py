"""Project-level views: the metrics exporter and JSON error pages for /api/."""

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.module_loading import import_string
from django.views import csrf, defaults
from django.views.decorators.csrf import csrf_exempt
from django_prometheus.exports import ExportToDjangoView

from promptconfig.common.exceptions import is_api_path, json_error_response


def metrics(request: HttpRequest) -> HttpResponse:
    if settings.METRICS_TOKEN:
        expected = f"Bearer {settings.METRICS_TOKEN}"
        if not hmac.compare_digest(request.headers.get("Authorization", ""), expected):
            return json_error_response(401, "authentication_failed", "A valid metrics token is required.")
    elif not settings.METRICS_PUBLIC:
        return json_error_response(
            403, "permission_denied", "Metrics are not public: set METRICS_TOKEN and send it as a Bearer token."
        )
    for path in settings.METRICS_REFRESH:
        import_string(path)()
    return ExportToDjangoView(request)


@csrf_exempt
def api_not_found(request: HttpRequest) -> HttpResponse:
    return json_error_response(404, "not_found", "Not found.")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_path(request):
        return json_error_response(404, "not_found", "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api_path(request):
        return json_error_response(500, "server_error", "An internal error occurred.")
    return defaults.server_error(request)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_path(request):
        return json_error_response(400, "validation_error", "Bad request.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if is_api_path(request):
        return json_error_response(403, "permission_denied", "Permission denied.")
    return defaults.permission_denied(request, exception)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    if is_api_path(request):
        return json_error_response(403, "permission_denied", "CSRF verification failed.")
    return csrf.csrf_failure(request, reason)
