import io
import logging
import re
import secrets

from csp import middleware as csp
from django.conf import settings
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.core.handlers.wsgi import LimitedStream
from django.http import HttpRequest, HttpResponse
from django.middleware import clickjacking, csrf
from django_prometheus import middleware as prometheus
from django_prometheus.utils import Time, TimeSince

from promptconfig.common.exceptions import is_api_path, json_error_response
from promptconfig.common.logging import request_id_var
from promptconfig.common.metrics import child

logger = logging.getLogger("promptconfig.errors")
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class ApiMiddleware:
    """Three rules in one layer (each layer a request passes costs it a little):

    - every request gets a sane `X-Request-ID` from the caller, or a new one; log lines and the response carry it;
    - an API request whose size or query string cannot be served is refused before any view runs (a chunked body is
      read here first, so that its size is known);
    - an API answer carries keys, profiles and renders, so no cache may keep it unless the view said otherwise
      (prompt-data sets its own `private, max-age`): `Cache-Control: no-store`.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")  # not request.headers: it would copy every header
        request.request_id = incoming if _CLIENT_REQUEST_ID.match(incoming) else secrets.token_hex(16)
        token = request_id_var.set(request.request_id)
        try:
            api = is_api_path(request)
            refusal = self._refusal(request) if api else None
            response = refusal or self.get_response(request)
        finally:
            request_id_var.reset(token)
        if api and not response.has_header("Cache-Control"):
            response["Cache-Control"] = "no-store"
        response["X-Request-ID"] = request.request_id
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A non-DRF view under /api/ that fails still answers in the API contract's shape."""
        if not is_api_path(request):
            return None
        logger.error("unhandled error on %s", request.path, exc_info=exception)
        return json_error_response(500, "server_error", "An internal error occurred.")

    @staticmethod
    def _refusal(request: HttpRequest) -> HttpResponse | None:
        if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower() and (
            refusal := _read_chunked_body(request)
        ):
            return refusal
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return json_error_response(400, "validation_error", "Content-Length is not a number.")
        if length > settings.MAX_REQUEST_BYTES:
            return _too_large()
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            return json_error_response(400, "validation_error", "The URL may not contain NUL characters.")
        return None


def _read_chunked_body(request: HttpRequest) -> HttpResponse | None:
    """A chunked body has no Content-Length: Django would read it as empty, and a write would "succeed" without
    its data. A server that ends the stream at the last chunk (gunicorn) lets it be read now, within the limit,
    and handed to the view with its length; else, or above the limit, the refusal."""
    if not request.META.get("wsgi.input_terminated"):
        return json_error_response(
            400, "validation_error", "This server cannot read a chunked body: send a Content-Length."
        )
    body = request.META["wsgi.input"].read(settings.MAX_REQUEST_BYTES + 1)
    if len(body) > settings.MAX_REQUEST_BYTES:
        return _too_large()
    request.META["CONTENT_LENGTH"] = str(len(body))
    request._stream = LimitedStream(io.BytesIO(body), len(body))
    return None


def _too_large() -> HttpResponse:
    message = f"The request body exceeds {settings.MAX_REQUEST_BYTES} bytes."
    return json_error_response(413, "payload_too_large", message)


def _site_only(base: type) -> type:
    """`base` for pages outside /api/ only (the admin, Swagger UI): API calls authenticate with keys and need
    no session, CSRF token, messages, frame options or CSP; skipping them saves each call
    most of a millisecond. A subclass, so that the admin's and axes' checks still find the middleware."""

    def __call__(self, request):
        return self.get_response(request) if is_api_path(request) else base.__call__(self, request)

    members = {"__call__": __call__, "__doc__": f"{base.__module__}.{base.__name__}, outside /api/ only."}
    if hasattr(base, "process_view"):

        def process_view(self, request, view, args, kwargs):
            return None if is_api_path(request) else base.process_view(self, request, view, args, kwargs)

        members["process_view"] = process_view
    return type(f"Site{base.__name__}", (base,), members)


SessionMiddleware = _site_only(sessions.SessionMiddleware)
CsrfViewMiddleware = _site_only(csrf.CsrfViewMiddleware)
AuthenticationMiddleware = _site_only(auth.AuthenticationMiddleware)
MessageMiddleware = _site_only(messages.MessageMiddleware)
XFrameOptionsMiddleware = _site_only(clickjacking.XFrameOptionsMiddleware)
CSPMiddleware = _site_only(csp.CSPMiddleware)


class PrometheusAfterMiddleware(prometheus.PrometheusAfterMiddleware):
    """django-prometheus' per-view metrics, less the series nobody graphs or alerts on (by transport, AJAX,
    charset, streaming, template name, request and response body sizes): every sample is a write to the
    multiprocess files on every request. Kept: requests by method, responses by status and by
    status/view/method, latency by view and method, exceptions by type and view."""

    def process_request(self, request):
        child(self.metrics.requests_by_method, method=self._method(request)).inc()
        request.prometheus_after_middleware_event = Time()

    def process_view(self, request, view_func, *view_args, **view_kwargs):
        return None

    def process_template_response(self, request, response):
        return response

    def process_response(self, request, response):
        method, view, status = self._method(request), self._get_view_name(request), str(response.status_code)
        child(self.metrics.responses_by_status, status=status).inc()
        child(self.metrics.responses_by_status_view_method, status=status, view=view, method=method).inc()
        started = getattr(request, "prometheus_after_middleware_event", None)
        if started is None:
            self.metrics.requests_unknown_latency.inc()
        else:
            child(self.metrics.requests_latency_by_view_method, view=view, method=request.method).observe(
                TimeSince(started)
            )
        return response
