"""The one rule for a provider name and a model id, shared by a template's `model_config` (saved here) and
ensure-version's `provider` / `model_id` (versions imports it: templates_app sits below versions).

A model id ends up in a provider URL path (Azure deployments, Gemini models) and in the probe's request,
so it is a short run of `[A-Za-z0-9._:@-]`: no '/', '?', '#', '%', whitespace or control characters.
`\\A…\\Z`, not `^…$`: `$` would also accept a trailing newline.
"""

import re
from typing import Any

PROVIDER = r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,31}\Z"
MODEL_ID = r"\A[A-Za-z0-9][A-Za-z0-9._:@-]{0,199}\Z"
PROVIDER_RE = re.compile(PROVIDER)
MODEL_ID_RE = re.compile(MODEL_ID)
PROVIDER_RULE = "1-32 characters: letters, digits, '_' and '-', starting with a letter or digit"
MODEL_ID_RULE = "1-200 characters: letters, digits, '.', '_', ':', '@' and '-', starting with a letter or digit"


def valid_provider(value: Any) -> bool:
    return isinstance(value, str) and PROVIDER_RE.match(value) is not None


def valid_model_id(value: Any) -> bool:
    return isinstance(value, str) and MODEL_ID_RE.match(value) is not None


def model_config_error(data: Any) -> str | None:
    """Why this `model_config` (`{"provider", "model", "params"}` or None) cannot be saved; None when it can."""
    if data is None:
        return None
    if not isinstance(data, dict):
        return "Must be an object with provider, model and params, or null."
    unknown = set(data) - {"provider", "model", "params"}
    if unknown:
        return f"Unknown keys: {', '.join(sorted(unknown))}."
    for name in ("provider", "model"):
        if not isinstance(data.get(name), str) or not data[name].strip():
            return f"'{name}' must be a non-empty string."
    if not valid_provider(data["provider"]):
        return f"'provider' must be {PROVIDER_RULE}."
    if not valid_model_id(data["model"]):
        return f"'model' must be {MODEL_ID_RULE}."
    if not isinstance(data.get("params", {}), dict):
        return "'params' must be an object."
    return None
