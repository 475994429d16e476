"""A local OpenAI-compatible chat-completions server on 127.0.0.1 (POST /v1/chat/completions).

`mode`: `ok` answers `reply` (a string, or a callable taking the request body) as the message content with
usage figures; `malformed` answers a 200 whose body is not JSON; `error` answers `error_status` (429 or 500)
with OpenAI's error shape; `hang` answers only after `delay` seconds. Every request is recorded with its
headers and JSON body.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.support.fake_api import JsonHandler, LocalServer

USAGE = {"prompt_tokens": 120, "completion_tokens": 45, "total_tokens": 165}


@dataclass
class FakeLLM(LocalServer):
    mode: str = "ok"
    reply: str | Callable[[dict], str] = "Hello from the fake model."
    error_status: int = 500
    delay: float = 3.0
    requests: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self):
        self.serve(_handler(self), "/v1")

    def answer_json(self, template: str, rationale: str = "Shorter and friendlier.") -> None:
        """Answer `ok` with a refinement's JSON object."""
        self.mode = "ok"
        self.reply = json.dumps({"template": template, "rationale": rationale})


def _handler(fake: FakeLLM):
    class Handler(JsonHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length)
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                body = {}
            fake.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
            if self.path != "/v1/chat/completions":
                return self.reply(404, b'{"error": {"message": "not found"}}')
            if fake.mode == "hang":
                time.sleep(fake.delay)
            if fake.mode == "malformed":
                return self.reply(200, b'{"choices": [{"message": {"content": "unterminated')
            if fake.mode == "error":
                error = {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}
                return self.reply(fake.error_status, error)
            reply = fake.reply(body) if callable(fake.reply) else fake.reply
            answer = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": body.get("model", "fake"),
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                "usage": USAGE,
            }
            return self.reply(200, answer)

    return Handler
