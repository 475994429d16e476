"""Every failure under /api/ leaves as the API contract's JSON error shape."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions as drf
from rest_framework.response import Response

from promptconfig.common.errors import ApiError
from promptconfig_client.engine import RenderError

logger = logging.getLogger("promptconfig.errors")

# DRF exception class -> the API contract's error code. Order matters: subclasses first.
_DRF_CODES: list[tuple[type[Exception], str]] = [
    (drf.ParseError, "validation_error"),
    (drf.NotAuthenticated, "authentication_failed"),
    (drf.AuthenticationFailed, "authentication_failed"),
    (drf.PermissionDenied, "permission_denied"),
    (drf.NotFound, "not_found"),
    (drf.MethodNotAllowed, "method_not_allowed"),
    (drf.NotAcceptable, "not_acceptable"),
    (drf.UnsupportedMediaType, "unsupported_media_type"),
    (drf.Throttled, "rate_limited"),
]


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def _validation_details(detail: Any) -> dict[str, Any]:
    if isinstance(detail, dict):
        return detail
    return {"non_field_errors": detail if isinstance(detail, list) else [detail]}


def _validation_message(details: dict[str, Any]) -> str:
    fields = ", ".join(str(name) for name in details)
    return f"Invalid input: {fields}." if fields else "Invalid input."


def known_error(exc: Exception) -> tuple[int, dict[str, Any]] | None:
    """(status, body) for the errors a request can cause (domain, engine, validation); None otherwise."""
    if isinstance(exc, ApiError):
        return exc.status_code, error_body(exc.code, exc.message, exc.details)
    if isinstance(exc, RenderError):  # the engine's template_error, missing_variables, invalid_variables
        return 422, error_body(exc.code, exc.message, exc.details)
    if isinstance(exc, drf.ValidationError):
        details = _validation_details(exc.detail)
        return 400, error_body("validation_error", _validation_message(details), details)
    return None


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    known = known_error(exc)
    if known is not None:
        return Response(known[1], status=known[0])
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    if isinstance(exc, drf.APIException):
        return _drf_response(exc)
    if isinstance(exc, (OperationalError, InterfaceError)):
        logger.error("database unavailable: %s", exc)
        return Response(
            error_body("service_unavailable", "The database is unavailable; try again shortly."), status=503
        )
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
    else:
        logger.exception("unhandled error in %s", context.get("view").__class__.__name__)
    return Response(error_body("server_error", "An internal error occurred."), status=500)


def _drf_response(exc: drf.APIException) -> Response:
    code = next((code for cls, code in _DRF_CODES if isinstance(exc, cls)), "server_error")
    body = error_body(code, str(exc.detail))
    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))
    return Response(body, status=exc.status_code, headers=headers)


def json_error_response(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse(error_body(code, message), status=status)


def is_api_path(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")
