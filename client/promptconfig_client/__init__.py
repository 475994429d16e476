"""PromptConfig's Python client: fetch a template with the user's placeholders, cache it, render it locally with
the server's own engine, and keep serving when the server is slow or down. Django-free: the server imports its
rendering engine (`promptconfig_client.engine`).

    from promptconfig_client import PromptConfig

    with PromptConfig("http://127.0.0.1:8000", api_key="pc_...") as pc:
        text = pc.get_prompt(user_id="u42", node_name="generating_content").render(topic="volcanoes")

The names below are loaded on first use, so `import promptconfig_client` costs next to nothing.
"""

from importlib import import_module
from typing import TYPE_CHECKING

__version__ = "0.1.0"

__all__ = [
    "AsyncPromptConfig",
    "AuthenticationFailed",
    "BadGateway",
    "CircuitOpen",
    "Conflict",
    "GatewayTimeout",
    "Generated",
    "Gone",
    "InvalidVariables",
    "MissingVariables",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "Prompt",
    "PromptConfig",
    "PromptConfigError",
    "RateLimited",
    "ServerError",
    "ServiceUnavailable",
    "TemplateError",
    "TemplateNotPublished",
    "ValidationError",
    "__version__",
]
_MODULE_OF = {"PromptConfig": "sync", "AsyncPromptConfig": "aio", "Prompt": "prompt", "Generated": "prompt"}

if TYPE_CHECKING:
    from .aio import AsyncPromptConfig
    from .errors import (
        AuthenticationFailed,
        BadGateway,
        CircuitOpen,
        Conflict,
        GatewayTimeout,
        Gone,
        InvalidVariables,
        MissingVariables,
        NotFound,
        PayloadTooLarge,
        PermissionDenied,
        PromptConfigError,
        RateLimited,
        ServerError,
        ServiceUnavailable,
        TemplateError,
        TemplateNotPublished,
        ValidationError,
    )
    from .prompt import Generated, Prompt
    from .sync import PromptConfig


def __getattr__(name: str):
    module = _MODULE_OF.get(name, "errors" if name in __all__ else None)
    if module is None or name == "__version__":
        raise AttributeError(f"module 'promptconfig_client' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
