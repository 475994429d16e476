"""The one domain error type. Services raise it; the exception handler renders the API contract's shape."""

from typing import Any


class ApiError(Exception):
    """An error the API reports as `{"error": {"code", "message", "details"}}`."""

    status_code = 400
    code = "validation_error"
    default_message = "The request is not valid."

    def __init__(self, message: str | None = None, *, details: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.details = details or {}
        super().__init__(self.message)


class ValidationFailed(ApiError):
    pass


class NotFound(ApiError):
    status_code, code, default_message = 404, "not_found", "Not found."


class Conflict(ApiError):
    status_code, code, default_message = 409, "conflict", "The request conflicts with the current state."


class TemplateNotPublished(ApiError):
    status_code, code, default_message = 409, "template_not_published", "The template is not published."


class Gone(ApiError):
    status_code, code, default_message = 410, "gone", "The template is archived."


class PayloadTooLarge(ApiError):
    status_code, code, default_message = 413, "payload_too_large", "The request body is too large."


class ServiceUnavailable(ApiError):
    status_code, code, default_message = 503, "service_unavailable", "A required service is unavailable."


class BadGateway(ApiError):
    status_code, code, default_message = 502, "bad_gateway", "An upstream provider answered with an error."


class GatewayTimeout(ApiError):
    status_code, code, default_message = 504, "gateway_timeout", "An upstream provider did not answer in time."
