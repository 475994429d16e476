"""Benchmark of the Python client's hot path against the Langfuse Python SDK's, in one run.

Run from the repo root: `.venv/bin/python -m tests.perf.bench_client [--number 20000] [--repeat 7]`.
No Django, no services: a stand-in HTTP server on 127.0.0.1 answers both clients' prompt endpoints once
(`POST /api/v1/prompt-data` for ours, `GET /api/public/v2/prompts/{name}` for Langfuse's), then each client is
timed on its cached path, in a process of its own:

  ours      PromptConfig.get_prompt(user_id=..., node_name=...) + Prompt.render(topic=...)
            (the user's three placeholders come with the prompt; the caller gives the fourth)
  langfuse  Langfuse.get_prompt(name, cache_ttl_seconds=...) + TextPromptClient.compile(**four variables)

for the same ~300-character prompt with four variables; both give the same text (checked). Each figure is the
best of --repeat runs of --number calls, in microseconds per call. Also measured: `import promptconfig_client`
(`python -X importtime`, cumulative microseconds of the package). Exits 1 when a target is missed.
"""

import argparse
import json
import re
import subprocess
import sys
import threading
import timeit
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = (
    "You are an expert educational content creator specializing in visual learning. Create engaging content "
    "about {{ topic }} for {{ difficulty }} level students with a {{ learning_style }} learning preference. "
    "Keep the tone {{ tone }}. Include diagrams, charts, and visual examples where appropriate."
)
PLACEHOLDERS = {"difficulty": "beginner", "learning_style": "visual", "tone": "friendly"}
DYNAMIC = {"topic": "photosynthesis"}
TARGET_RATIO = 2.0
TARGET_IMPORT_MS = 100
PROMPT_DATA = {
    "template": BODY,
    "template_id": "lesson",
    "template_version": 1,
    "language": "en",
    "variable_schema": None,
    "model_config": None,
    "user_placeholders": PLACEHOLDERS,
    "required_dynamic_placeholders": ["topic"],
    "optional_dynamic_placeholders": [],
    "includes": {},
    "cache_ttl": 3600,
    "ab_test": None,
}
LANGFUSE_PROMPT = {
    "type": "text",
    "name": "lesson",
    "version": 1,
    "prompt": BODY.replace("{{ ", "{{").replace(" }}", "}}"),
    "config": {},
    "labels": ["production"],
    "tags": [],
}


def stand_in() -> str:
    """Start the stand-in server in this process; its base URL."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _send(self, body: dict, etag: str | None = None) -> None:
            payload = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            if etag:
                self.send_header("ETag", etag)
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._send(PROMPT_DATA, etag='"bench"')

        def do_GET(self):
            self._send(LANGFUSE_PROMPT)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}"


def ours(url: str):
    from promptconfig_client import PromptConfig

    client = PromptConfig(url, api_key="pc_bench")
    client.get_prompt(user_id="u42", node_name="generating_content")  # fetched once, cached from then on

    def call() -> str:
        return client.get_prompt(user_id="u42", node_name="generating_content").render(topic=DYNAMIC["topic"])

    return call


def langfuse(url: str):
    from langfuse import Langfuse

    client = Langfuse(public_key="pk-lf-bench", secret_key="sk-lf-bench", base_url=url, tracing_enabled=False)
    client.get_prompt("lesson", cache_ttl_seconds=3600)

    def call() -> str:
        return client.get_prompt("lesson", cache_ttl_seconds=3600).compile(**DYNAMIC, **PLACEHOLDERS)

    return call


def one(name: str, number: int, repeat: int) -> dict:
    call = {"ours": ours, "langfuse": langfuse}[name](stand_in())
    text = call()
    micros = min(timeit.repeat(call, number=number, repeat=repeat)) / number * 1e6
    return {"name": name, "us": micros, "text": text}


def import_ms() -> float:
    """The cumulative import time of promptconfig_client, from `python -X importtime` (best of five)."""
    best = None
    for _ in range(5):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c", "import promptconfig_client"],
            capture_output=True,
            text=True,
            check=True,
        )
        line = next(line for line in result.stderr.splitlines()[::-1] if re.search(r"\| promptconfig_client$", line))
        micros = int(line.split("|")[1])
        best = micros if best is None else min(best, micros)
    return best / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--number", type=int, default=20_000, help="calls per run (default 20000)")
    parser.add_argument("--repeat", type=int, default=7, help="runs; the best is reported (default 7)")
    parser.add_argument("--one", choices=["ours", "langfuse"], help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.number, args.repeat)))
        return 0

    figures = {}
    for name in ("ours", "langfuse"):
        command = [sys.executable, "-m", "tests.perf.bench_client", "--one", name]
        command += ["--number", str(args.number), "--repeat", str(args.repeat)]
        figures[name] = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)
    assert figures["ours"]["text"] == figures["langfuse"]["text"], "the two clients must give the same text"
    print(f"prompt: {len(BODY)} characters, 4 variables; output {len(figures['ours']['text'])} characters")
    for name, figure in figures.items():
        print(f"  {name:9} {figure['us']:7.2f} us per cached get_prompt + render")
    ratio = figures["ours"]["us"] / figures["langfuse"]["us"]
    imported = import_ms()
    print(f"ours/langfuse  {ratio:.2f}  (target <= {TARGET_RATIO})")
    print(f"import promptconfig_client  {imported:.1f} ms  (target < {TARGET_IMPORT_MS} ms)")
    return 0 if ratio <= TARGET_RATIO and imported < TARGET_IMPORT_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
