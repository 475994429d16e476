"""The engine's exceptions: every failure a caller sees is a RenderError with a stable code and a safe message."""

from typing import Any


class RenderError(Exception):
    """Base of the engine's errors. `code` is stable (the API error code), `message` is for humans."""

    code = "render_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}


class TemplateError(RenderError):
    """The template (or its schema) cannot compile or render: syntax, sandbox violation, a limit, a runtime error."""

    code = "template_error"


class MissingVariables(RenderError):
    """The template reads variables the caller did not supply; `missing` names every one of them."""

    code = "missing_variables"

    def __init__(self, missing: list[str]) -> None:
        self.missing = sorted(set(missing))
        noun = "variable" if len(self.missing) == 1 else "variables"
        super().__init__(f"Missing {noun}: {', '.join(self.missing)}.", {"missing": list(self.missing)})


class InvalidVariables(RenderError):
    """The variables do not match the template's JSON Schema (or are not JSON data).

    `details` maps a top-level variable name, or "$" for the object as a whole, to its messages.
    """

    code = "invalid_variables"

    def __init__(self, details: dict[str, list[str]], message: str = "") -> None:
        super().__init__(message or "Variables do not match the template's schema.", details)
