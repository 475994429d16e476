"""A local HTTP server on 127.0.0.1 that answers like the LLM providers' APIs the probes call.

OpenAI (`POST /v1/chat/completions`), Azure OpenAI (`POST /openai/deployments/{name}/chat/completions`),
Anthropic (`POST /v1/messages`) and Gemini (`POST /v1beta/models/{model}:generateContent`), each with the
field its probe reads (`system_fingerprint`, `model`, `modelVersion`). `mode` makes every provider
answer normally (`ok`), with its own error shape and a 500 or 429 (`error`), too late (`slow`), with
something that is not JSON (`garbage`), with JSON nested deeper than a parser goes (`deep`), or with a 401
that echoes the request's headers and API key back (`leaky`, as some gateways do). Any other path is a 404
that echoes the request's headers too, like an internal endpoint would. Every request is recorded with
its headers and body (`provider` "unknown" for another path).
"""

import json
import re
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from tests.support.fake_api import JsonHandler, LocalServer


@dataclass
class Recorded:
    provider: str
    path: str
    query: dict
    headers: dict
    body: dict


@dataclass
class FakeProviders(LocalServer):
    mode: str = "ok"
    delay: float = 2.0  # how late `slow` answers, seconds
    keys: dict[str, str] = field(
        default_factory=lambda: {
            "openai": "fp_live_0a1b2c3d",
            "azure-openai": "fp_live_azure_9f8e7d6c",
            "anthropic": "claude-3-5-sonnet-20241022",
            "google": "gemini-1.5-pro-002",
        }
    )
    requests: list[Recorded] = field(default_factory=list)

    def __post_init__(self):
        self.serve(_handler(self))

    def answer(self, provider: str, model: str) -> tuple[int, dict]:
        if self.mode == "error":
            if provider == "anthropic":
                return 529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
            if provider == "google":
                return 500, {"error": {"code": 500, "message": "Internal error", "status": "INTERNAL"}}
            return 429, {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
        key = self.keys[provider]
        if provider in ("openai", "azure-openai"):
            return 200, {
                "id": "chatcmpl-1",
                "object": "chat.completion",
                "model": f"{model}-2024-08-06",
                "system_fingerprint": key,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "length"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
            }
        if provider == "anthropic":
            return 200, {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": key,
                "content": [{"type": "text", "text": "Hi"}],
                "stop_reason": "max_tokens",
                "usage": {"input_tokens": 5, "output_tokens": 1},
            }
        return 200, {
            "candidates": [{"content": {"parts": [{"text": "Hi"}], "role": "model"}, "finishReason": "MAX_TOKENS"}],
            "modelVersion": key,
            "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1},
        }


ROUTES = [
    ("openai", re.compile(r"^/v1/chat/completions$")),
    ("azure-openai", re.compile(r"^/openai/deployments/(?P<model>[^/]+)/chat/completions$")),
    ("anthropic", re.compile(r"^/v1/messages$")),
    ("google", re.compile(r"^/v1beta/models/(?P<model>[^/:]+):generateContent$")),
]


def _handler(fake: FakeProviders):
    class Handler(JsonHandler):
        def do_POST(self):
            parts = urlsplit(self.path)
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = json.loads(raw or b"{}")
            headers = {k.lower(): v for k, v in self.headers.items()}
            found = [(name, pattern.match(parts.path)) for name, pattern in ROUTES if pattern.match(parts.path)]
            provider, match = found[0] if found else ("unknown", None)
            fake.requests.append(Recorded(provider, parts.path, parse_qs(parts.query), headers, body))
            if not found:
                return self.reply(404, {"error": {"message": "Unknown path", "path": self.path, "headers": headers}})
            if fake.mode == "slow":
                time.sleep(fake.delay)
            if fake.mode == "garbage":
                return self.reply(200, b"<html>Bad gateway</html>")
            if fake.mode == "deep":
                return self.reply(200, b"[" * 100_000)
            if fake.mode == "leaky":
                secret = next(
                    (headers[h] for h in ("authorization", "api-key", "x-api-key", "x-goog-api-key") if h in headers),
                    "",
                )
                message = f"Incorrect API key provided: {secret.removeprefix('Bearer ')}."
                return self.reply(401, {"error": {"message": message, "request_headers": headers}})
            status, answer = fake.answer(provider, match.groupdict().get("model") or body.get("model", ""))
            self.reply(status, answer)

    return Handler
