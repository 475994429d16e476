"""Stand-ins for a PromptConfig server that misbehaves, on 127.0.0.1: one that answers from a script (503 with
Retry-After, 429, 5xx in the API's error shape...), and one that accepts connections and never answers."""

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class LocalServer:
    """A ThreadingHTTPServer on a free 127.0.0.1 port, answering from a daemon thread; `close()` stops it."""

    def serve(self, handler: type[BaseHTTPRequestHandler], path: str = "") -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class JsonHandler(BaseHTTPRequestHandler):
    """A quiet request handler that answers JSON; a client that gave up (a timeout test) is no error."""

    def log_message(self, *args):
        pass

    def reply(self, status: int, body: object, headers: dict | None = None) -> None:
        """`body` as JSON, or as it is when bytes (a malformed answer)."""
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass


@dataclass
class Seen:
    at: float  # time.monotonic()
    method: str
    path: str
    headers: dict
    body: object


def error_body(code: str, message: str = "scripted") -> dict:
    return {"error": {"code": code, "message": message, "details": {}}}


@dataclass
class ScriptedApi(LocalServer):
    """Answers request n with answers[n] (the last one from then on): (status, headers, JSON body or None)."""

    answers: list[tuple[int, dict, object]]
    seen: list[Seen] = field(default_factory=list)

    def __post_init__(self):
        api = self

        class Handler(JsonHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                api.seen.append(
                    Seen(time.monotonic(), "POST", self.path, dict(self.headers), json.loads(raw) if raw else None)
                )
                status, headers, body = api.answers[min(len(api.seen), len(api.answers)) - 1]
                self.reply(status, b"" if body is None else body, headers)

            do_GET = do_POST

        self.serve(Handler)


class SilentServer:
    """Accepts every connection and never answers (a hung server)."""

    def __init__(self):
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            self._held.append(connection)

    def close(self):
        self._listener.close()
        for connection in self._held:
            connection.close()
