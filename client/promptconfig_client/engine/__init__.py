"""PromptConfig's template engine: sandboxed, resource-guarded Jinja2, shared by the server and the client.

The server imports this package (it has no Django dependency), so a prompt rendered by the client is byte-for-byte
the prompt the server renders.
"""

from .core import CacheInfo, Engine
from .errors import InvalidVariables, MissingVariables, RenderError, TemplateError
from .filters import FILTERS
from .limits import Limits

DEFAULT_ENGINE = Engine()

__all__ = [
    "DEFAULT_ENGINE",
    "FILTERS",
    "CacheInfo",
    "Engine",
    "InvalidVariables",
    "Limits",
    "MissingVariables",
    "RenderError",
    "TemplateError",
]
