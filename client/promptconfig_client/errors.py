"""The client's exceptions: one class per error code of the API, all subclasses of PromptConfigError.

Every exception has `code`, `message`, `details` and `status` (the HTTP status, or None for errors that never
reached a server: a local render, a connect error, an open circuit). Local renders raise the same classes as the
server's 422 answers, so `except MissingVariables` catches both.
"""

from typing import Any


class PromptConfigError(Exception):
    code = "error"
    status: int | None = None

    def __init__(
        self, message: str = "", *, details: dict[str, Any] | None = None, status: int | None = None, code: str = ""
    ) -> None:
        super().__init__(message or self.code)
        self.message = message or self.code
        self.details: dict[str, Any] = details or {}
        if status is not None:
            self.status = status
        if code:
            self.code = code

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, status={self.status!r}, message={self.message!r})"


class AuthenticationFailed(PromptConfigError):
    code, status = "authentication_failed", 401


class PermissionDenied(PromptConfigError):
    code, status = "permission_denied", 403


class NotFound(PromptConfigError):
    code, status = "not_found", 404


class ValidationError(PromptConfigError):
    code, status = "validation_error", 400


class PayloadTooLarge(ValidationError):
    code, status = "payload_too_large", 413


class Conflict(PromptConfigError):
    code, status = "conflict", 409


class TemplateNotPublished(Conflict):
    code = "template_not_published"


class Gone(PromptConfigError):
    code, status = "gone", 410


class MissingVariables(PromptConfigError):
    code, status = "missing_variables", 422

    @property
    def missing(self) -> list[str]:
        return list(self.details.get("missing", []))


class InvalidVariables(PromptConfigError):
    code, status = "invalid_variables", 422


class TemplateError(PromptConfigError):
    code, status = "template_error", 422


class RateLimited(PromptConfigError):
    code, status = "rate_limited", 429


class ServerError(PromptConfigError):
    code, status = "server_error", 500


class ServiceUnavailable(PromptConfigError):
    """503, and every failure to reach the server at all (connect error, timeout)."""

    code, status = "service_unavailable", 503


class BadGateway(ServiceUnavailable):
    code, status = "bad_gateway", 502


class GatewayTimeout(ServiceUnavailable):
    code, status = "gateway_timeout", 504


class CircuitOpen(PromptConfigError):
    """Too many calls failed in a row: calls do not touch the network until the breaker's trial call."""

    code = "circuit_open"


BY_CODE: dict[str, type[PromptConfigError]] = {
    cls.code: cls
    for cls in (
        AuthenticationFailed,
        PermissionDenied,
        NotFound,
        ValidationError,
        PayloadTooLarge,
        Conflict,
        TemplateNotPublished,
        Gone,
        MissingVariables,
        InvalidVariables,
        TemplateError,
        RateLimited,
        ServerError,
        ServiceUnavailable,
        BadGateway,
        GatewayTimeout,
        CircuitOpen,
    )
}
BY_STATUS = {400: ValidationError, 401: AuthenticationFailed, 403: PermissionDenied, 404: NotFound, 409: Conflict}


def error_for(code: str, message: str, details: dict[str, Any] | None = None, status: int | None = None):
    """The exception for an API error code (by status, then the base class, for a code this client does not know)."""
    cls = BY_CODE.get(code) or BY_STATUS.get(status or 0)
    if cls is None:
        cls = ServiceUnavailable if status in (502, 503, 504) else ServerError if (status or 0) >= 500 else None
    if cls is None:
        return PromptConfigError(message, details=details, status=status, code=code or "error")
    return cls(message, details=details, status=status, code=code)
