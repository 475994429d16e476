"""Provider probes: ask a provider which exact model version serves a model id.

One interface, `probe(provider, model_id) -> provider version key`, two implementations chosen by
PROBE_MODE: `stub` (the default: deterministic keys, no network, PROBE_SLEEP_MS of latency) and
`http` (a minimal real request to the provider with httpx: one output token). A provider that answers
with an error or an unreadable body raises ProbeFailed (502 bad_gateway); one that does not answer
within PROBE_TIMEOUT_SECONDS raises ProbeTimedOut (504 gateway_timeout). Every value put into a URL path
is percent-encoded, and the provider's answer is never passed on to the API caller: an error answer is
logged (an excerpt, with anything that looks like a key or token redacted) and the 502 names only the
provider and the HTTP status.
"""

import hashlib
import logging
import re
import time
from collections.abc import Callable
from urllib.parse import quote

import httpx
from django.conf import settings

from promptconfig.common.errors import BadGateway, GatewayTimeout

logger = logging.getLogger("promptconfig.versions")
UNKNOWN = "unknown"
PING = "Reply with one word."
EXCERPT_CHARS = 500  # of an upstream error answer, logged after redaction
REDACT_CHARS = 8192  # how much of the answer is redacted before the excerpt is cut
API_KEY_SETTINGS = ("OPENAI_API_KEY", "AZURE_OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY")
REDACTED = "[REDACTED]"
# A quoted or bare value after a name like authorization, api-key, x-goog-api-key, key, token, secret, password.
_SECRET_FIELD = re.compile(
    r"""(?P<name>["']?[\w.-]{0,40}(?:authorization|api[-_]?key|key|token|secret|password|credential)[\w.-]{0,40}["']?"""
    r"""\s*[:=]\s*)(?P<value>"(?:[^"\\]|\\.)*"|'[^']*'|(?:bearer|basic)\s+[^\s"',;&}]+|[^\s"',;&}]+)""",
    re.IGNORECASE,
)
_SECRET_TOKEN = re.compile(
    r"(?:\b(?:bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,})"  # an Authorization header value
    r"|(?:\bsk-[A-Za-z0-9_-]{4,})"  # OpenAI and Anthropic keys
    r"|(?:\bAIza[0-9A-Za-z_-]{20,})",  # Google API keys
    re.IGNORECASE,
)


class ProbeFailed(BadGateway):
    pass


class ProbeTimedOut(GatewayTimeout):
    pass


def _hash8(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]


def stub_probe(provider: str, model_id: str) -> str:
    """Deterministic keys, as the seed's stub: no network."""
    if settings.PROBE_SLEEP_MS > 0:
        time.sleep(settings.PROBE_SLEEP_MS / 1000)
    if provider == "openai":
        return f"fp_stub_{_hash8('openai:' + model_id)}"
    if provider == "google":
        return f"{model_id}-stub-001"
    if provider == "anthropic":
        return model_id
    if provider == "azure-openai":
        return f"fp_stub_azure_{_hash8('azure:' + model_id)}"
    return UNKNOWN


# --- what may be logged ----------------------------------------------------------------------------
def redact(text: str) -> str:
    """The text with the configured API keys and anything that looks like a key, token or secret replaced."""
    for name in API_KEY_SETTINGS:
        key = getattr(settings, name, "") or ""
        if len(key) >= 4:
            text = text.replace(key, REDACTED)
    text = _SECRET_FIELD.sub(lambda match: match["name"] + REDACTED, text)
    return _SECRET_TOKEN.sub(REDACTED, text)


def _log_answer(provider: str, status: int, text: str) -> None:
    """An upstream error answer goes to the log (an excerpt, redacted), never to the API caller."""
    logger.warning("probe: %s answered %s: %r", provider, status, redact(text[:REDACT_CHARS])[:EXCERPT_CHARS])


def segment(value: str) -> str:
    """A value put into a URL path: one segment, whatever it holds ('/', '?', '#', '..', '%', controls)."""
    return quote(value, safe="")


# --- real probes -----------------------------------------------------------------------------------
def _post(provider: str, url: str, *, headers: dict[str, str], body: dict, params: dict | None = None) -> dict:
    try:
        response = httpx.post(url, headers=headers, json=body, params=params, timeout=settings.PROBE_TIMEOUT_SECONDS)
    except httpx.TimeoutException:
        raise ProbeTimedOut(f"{provider} did not answer within {settings.PROBE_TIMEOUT_SECONDS} s.") from None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:  # ValueError: a bad header, URL or body
        raise ProbeFailed(
            f"{provider} could not be reached: {type(exc).__name__}.", details={"provider": provider}
        ) from None
    if response.status_code >= 400:
        _log_answer(provider, response.status_code, response.text)
        raise ProbeFailed(
            f"{provider} answered {response.status_code}.",
            details={"provider": provider, "status": response.status_code},
        )
    try:
        answer = response.json()
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deep for the parser
        _log_answer(provider, response.status_code, response.text)
        raise ProbeFailed(
            f"{provider} answered with something that is not JSON.",
            details={"provider": provider, "status": response.status_code},
        ) from None
    if not isinstance(answer, dict):
        raise ProbeFailed(
            f"{provider} answered with an unexpected JSON document.",
            details={"provider": provider, "status": response.status_code},
        )
    return answer


def _key_from(answer: dict, *names: str, provider: str) -> str:
    """The first non-empty string among these fields of the answer."""
    for name in names:
        value = answer.get(name)
        if isinstance(value, str) and value:
            if not value.isprintable():  # control characters (NUL cannot even be stored): not a version key
                raise ProbeFailed(f"{provider} answered with an unreadable {name}.")
            return value[:200]
    raise ProbeFailed(f"{provider} answered without {' or '.join(names)}.")


def _api_key(name: str, provider: str) -> str:
    key = getattr(settings, name)
    if not key:
        raise ProbeFailed(f"No API key for {provider}: set {name}.")
    return key


def openai_probe(model_id: str) -> str:
    """A 1-token chat completion; `system_fingerprint` (the exact `model` snapshot when the model gives none)."""
    answer = _post(
        "openai",
        f"{settings.OPENAI_BASE_URL.rstrip('/')}/v1/chat/completions",
        headers={"Authorization": f"Bearer {_api_key('OPENAI_API_KEY', 'openai')}"},
        body={"model": model_id, "messages": [{"role": "user", "content": PING}], "max_tokens": 1},
    )
    return _key_from(answer, "system_fingerprint", "model", provider="openai")


def azure_openai_probe(model_id: str) -> str:
    """The same against an Azure OpenAI deployment (the model id is the deployment name)."""
    answer = _post(
        "azure-openai",
        f"{settings.AZURE_OPENAI_ENDPOINT.rstrip('/')}/openai/deployments/{segment(model_id)}/chat/completions",
        headers={"api-key": _api_key("AZURE_OPENAI_API_KEY", "azure-openai")},
        params={"api-version": settings.AZURE_OPENAI_API_VERSION},
        body={"messages": [{"role": "user", "content": PING}], "max_tokens": 1},
    )
    return _key_from(answer, "system_fingerprint", "model", provider="azure-openai")


def anthropic_probe(model_id: str) -> str:
    """A 1-token message; Anthropic names the exact model that answered in `model`."""
    answer = _post(
        "anthropic",
        f"{settings.ANTHROPIC_BASE_URL.rstrip('/')}/v1/messages",
        headers={"x-api-key": _api_key("ANTHROPIC_API_KEY", "anthropic"), "anthropic-version": "2023-06-01"},
        body={"model": model_id, "max_tokens": 1, "messages": [{"role": "user", "content": PING}]},
    )
    return _key_from(answer, "model", provider="anthropic")


def google_probe(model_id: str) -> str:
    """A 1-token Gemini generateContent; `modelVersion`."""
    answer = _post(
        "google",
        f"{settings.GEMINI_BASE_URL.rstrip('/')}/v1beta/models/{segment(model_id)}:generateContent",
        headers={"x-goog-api-key": _api_key("GEMINI_API_KEY", "google")},
        body={"contents": [{"parts": [{"text": PING}]}], "generationConfig": {"maxOutputTokens": 1}},
    )
    return _key_from(answer, "modelVersion", provider="google")


HTTP_PROBES: dict[str, Callable[[str], str]] = {
    "openai": openai_probe,
    "azure-openai": azure_openai_probe,
    "anthropic": anthropic_probe,
    "google": google_probe,
}


def http_probe(provider: str, model_id: str) -> str:
    probe = HTTP_PROBES.get(provider)
    return probe(model_id) if probe else UNKNOWN


PROBES: dict[str, Callable[[str, str], str]] = {"stub": stub_probe, "http": http_probe}


def probe(provider: str, model_id: str) -> str:
    """The provider version key for this model, by PROBE_MODE."""
    return PROBES[settings.PROBE_MODE](provider, model_id)
