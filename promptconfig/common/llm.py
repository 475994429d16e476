"""A small client for any OpenAI-compatible chat-completions endpoint (OpenAI, Azure OpenAI behind a gateway,
vLLM, Ollama, LiteLLM): POST {LLM_BASE_URL}/chat/completions with LLM_API_KEY as a bearer token.

Without LLM_BASE_URL every call raises LLMNotConfigured (503 service_unavailable naming the settings). An error
answer, an unreadable one or an unreachable endpoint is LLMFailed (502 bad_gateway), no answer within
LLM_TIMEOUT seconds is LLMTimedOut (504 gateway_timeout). The key is sent in a header only: it is never logged,
never part of an error message, and the upstream answer of an error is logged as a short excerpt with the key
replaced, never passed on to the caller. Each completion carries its token usage and latency.
"""

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx
from django.conf import settings

from promptconfig.common import metrics
from promptconfig.common.errors import BadGateway, GatewayTimeout, ServiceUnavailable

logger = logging.getLogger("promptconfig.llm")
SETTINGS = ("LLM_BASE_URL", "LLM_API_KEY", "LLM_MODEL")
NOT_CONFIGURED = (
    "No LLM endpoint is configured: set LLM_BASE_URL (an OpenAI-compatible API root such as "
    "https://api.openai.com/v1), LLM_API_KEY and LLM_MODEL."
)
# The sampling parameters a caller may pass through, with their bounds.
PARAMS: dict[str, tuple[type, float, float]] = {
    "temperature": (float, 0.0, 2.0),
    "top_p": (float, 0.0, 1.0),
    "max_tokens": (int, 1, 32768),
    "presence_penalty": (float, -2.0, 2.0),
    "frequency_penalty": (float, -2.0, 2.0),
    "seed": (int, 0, 2**31 - 1),
}
EXCERPT_CHARS = 300


class LLMNotConfigured(ServiceUnavailable):
    default_message = NOT_CONFIGURED


class LLMFailed(BadGateway):
    pass


class LLMTimedOut(GatewayTimeout):
    pass


@dataclass(frozen=True)
class Completion:
    text: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    latency_ms: int

    @property
    def tokens(self) -> dict[str, int]:
        return {"prompt": self.prompt_tokens, "completion": self.completion_tokens, "total": self.total_tokens}


def configured() -> bool:
    return bool(settings.LLM_BASE_URL)


def require_configured() -> None:
    if not configured():
        raise LLMNotConfigured(details={"settings": list(SETTINGS)})


def params_error(params: Any) -> str | None:
    """Why these sampling parameters cannot be sent, or None."""
    if not isinstance(params, Mapping):
        return "Must be an object."
    for name, value in params.items():
        if name not in PARAMS:
            return f"Unknown parameter '{name}'; allowed: {', '.join(PARAMS)}."
        kind, low, high = PARAMS[name]
        wrong_type = not isinstance(value, int) if kind is int else not isinstance(value, int | float)
        if isinstance(value, bool) or wrong_type:
            return f"'{name}' must be {'an integer' if kind is int else 'a number'}."
        if not low <= value <= high:
            return f"'{name}' must be between {low:g} and {high:g}."
    return None


def redact(text: str) -> str:
    key = settings.LLM_API_KEY or ""
    return text.replace(key, "[REDACTED]") if len(key) >= 4 else text


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0


def chat(
    messages: list[dict[str, str]],
    *,
    model: str | None = None,
    params: Mapping[str, Any] | None = None,
    json_object: bool = False,
    timeout: float | None = None,
) -> Completion:
    """One chat completion; `json_object` asks for a JSON object answer (response_format). `timeout` (seconds,
    default LLM_TIMEOUT) bounds the whole call."""
    require_configured()
    timeout = settings.LLM_TIMEOUT if timeout is None else timeout
    model = model or settings.LLM_MODEL
    body: dict[str, Any] = {"model": model, "messages": messages, **(params or {})}
    if json_object:
        body["response_format"] = {"type": "json_object"}
    headers = {"Authorization": f"Bearer {settings.LLM_API_KEY}"} if settings.LLM_API_KEY else {}
    url = f"{settings.LLM_BASE_URL.rstrip('/')}/chat/completions"
    try:
        completion = _call(url, body, headers, timeout, model)
    except LLMTimedOut:
        metrics.llm_requests_total.labels(outcome="timeout").inc()
        raise
    except LLMFailed:
        metrics.llm_requests_total.labels(outcome="error").inc()
        raise
    metrics.llm_requests_total.labels(outcome="ok").inc()
    metrics.llm_tokens_total.labels(kind="prompt").inc(completion.prompt_tokens)
    metrics.llm_tokens_total.labels(kind="completion").inc(completion.completion_tokens)
    return completion


def _read(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    """(status, body) of the POST, read within `timeout` seconds in all and LLM_MAX_RESPONSE_BYTES."""
    started = time.monotonic()
    chunks, size = [], 0
    with httpx.stream("POST", url, json=body, headers=headers, timeout=timeout) as response:
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > settings.LLM_MAX_RESPONSE_BYTES:
                raise LLMFailed("The LLM endpoint's answer is too large.")
            if time.monotonic() - started > timeout:
                raise httpx.ReadTimeout("the answer took too long")
            chunks.append(chunk)
        return response.status_code, b"".join(chunks)


def _call(url: str, body: dict[str, Any], headers: dict[str, str], timeout: float, model: str) -> Completion:
    started = time.monotonic()
    try:
        status, content = _read(url, body, headers, timeout)
    except httpx.TimeoutException:
        raise LLMTimedOut(f"The LLM endpoint did not answer within {timeout:g} s.") from None
    except (httpx.HTTPError, httpx.InvalidURL, ValueError) as exc:
        raise LLMFailed(f"The LLM endpoint could not be reached: {type(exc).__name__}.") from None
    latency_ms = round((time.monotonic() - started) * 1000)
    text = content[:2000].decode("utf-8", "replace")
    if status >= 400:
        logger.warning("llm: %s answered %s: %r", model, status, redact(text)[:EXCERPT_CHARS])
        raise LLMFailed(f"The LLM endpoint answered {status}.", details={"status": status})
    try:
        answer = json.loads(content)
        choice = answer["choices"][0]["message"]
        reply = choice["content"]
        if not isinstance(reply, str):
            raise TypeError
    except (ValueError, RecursionError, KeyError, IndexError, TypeError):
        logger.warning("llm: %s answered something unreadable: %r", model, redact(text)[:EXCERPT_CHARS])
        raise LLMFailed("The LLM endpoint answered something that is not a chat completion.") from None
    usage = answer.get("usage") if isinstance(answer.get("usage"), dict) else {}
    prompt_tokens, completion_tokens = _int(usage.get("prompt_tokens")), _int(usage.get("completion_tokens"))
    answered_model = answer.get("model") if isinstance(answer.get("model"), str) else model
    return Completion(
        text=reply,
        model=answered_model[:200],
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=_int(usage.get("total_tokens")) or prompt_tokens + completion_tokens,
        latency_ms=latency_ms,
    )
