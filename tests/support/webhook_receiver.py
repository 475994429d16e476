"""A local webhook receiver for tests: a real HTTP server on 127.0.0.1 in a thread, answering from a script."""

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    at: float  # time.monotonic() when the request arrived
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """`answers`: what the next requests get, in order (an int status, or "hang" to hold the request until the
    server stops); once they run out, `default`."""

    answers: list = field(default_factory=list)
    default: int = 200
    received: list[Received] = field(default_factory=list)
    url: str = ""
    stopping: threading.Event = field(default_factory=threading.Event)

    def next_answer(self):
        return self.answers.pop(0) if self.answers else self.default

    def wait_for(self, count: int, timeout: float) -> list[Received]:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver got {len(self.received)} requests, not {count}, in {timeout} s")
            time.sleep(0.05)
        return self.received


@contextlib.contextmanager
def webhook_receiver(answers: list | None = None, default: int = 200) -> Iterator[Receiver]:
    receiver = Receiver(answers=list(answers or []), default=default)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            receiver.received.append(Received(time.monotonic(), self.path, dict(self.headers), body))
            answer = receiver.next_answer()
            if answer == "hang":
                receiver.stopping.wait(60)
                return
            if answer == "redirect":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
                self.end_headers()
                return
            payload = b"x" * 100_000 if answer == "huge" else f"answer {answer}".encode()
            self.send_response(200 if answer == "huge" else answer)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield receiver
    finally:
        receiver.stopping.set()
        server.shutdown()
        server.server_close()
