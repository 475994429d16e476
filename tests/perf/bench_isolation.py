"""Noisy neighbour benchmark: one key floods the service with expensive renders while another key makes a cheap
authenticated read; the read must stay fast (its p99 under about one render budget).

Run from the repo root: `.venv/bin/python -m tests.perf.bench_isolation [--duration 20] [--connections 8]`.
Needs wrk, PostgreSQL and Redis (as tests/perf/run: DATABASE_URL or a throwaway database, REDIS_URL). gunicorn
runs with its defaults (2 sync workers) and the service's default limits: the per-key rate limits (a slow
call weighs like an expensive one) and the render budget (RENDER_TIME_BUDGET_MS, 250 ms) are what is measured.

  noisy  `--connections` connections of POST /api/v1/prompts/generate on a template whose render runs until
         its budget stops it (422 template_error), with one read key
  quiet  one connection of GET /api/v1/templates/lesson with another read key, started a few seconds in

Prints both wrk summaries and the quiet read's p99; exits 1 if it is not under --target-ms (300).
"""

import argparse
import json
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

from tests.perf.bench import cache_dropped, database, lua_string, manage, parse_wrk
from tests.support.servers import gunicorn_server

HEAVY = "{% for i in range(10000) %}{% for j in range(10000) %}{{ i }}{% endfor %}{% endfor %}"
LESSON = "Explain {{ topic }} to a {{ learning_style }} learner."


def script(path: Path, method: str, key: str, body: dict | None = None) -> Path:
    lines = [f"wrk.method = {lua_string(method)}", f"wrk.headers['Authorization'] = {lua_string('Bearer ' + key)}"]
    if body is not None:
        lines += ["wrk.headers['Content-Type'] = 'application/json'", f"wrk.body = {lua_string(json.dumps(body))}"]
    path.write_text("\n".join(lines) + "\n")
    return path


def run_wrk(url: str, lua: Path, connections: int, seconds: int, out: dict, name: str) -> None:
    import subprocess

    command = ["wrk", "--latency", "-t", "1", "-c", str(connections), "-d", f"{seconds}s", "-s", str(lua), url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    out[name] = done.stdout + done.stderr


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=20, help="seconds of noise (default 20)")
    parser.add_argument("--connections", type=int, default=8, help="noisy connections (default 8)")
    parser.add_argument("--target-ms", type=float, default=300.0, help="the quiet read's p99 target (default 300)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run_id = f"{int(time.time())}_{os.getpid()}"
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12")
    prefix = f"noisy_{run_id}"
    with database() as database_url, cache_dropped(redis_url, prefix), tempfile.TemporaryDirectory() as tmp:
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CACHE_KEY_PREFIX": prefix,
            "DEBUG": "0",
            "SECRET_KEY": "perf-secret-key",
            "LOG_LEVEL": "WARNING",
            "GENERATION_LOG_QUEUE": "1",
            # The service's defaults (the test helper that starts gunicorn turns the penalty off for tests).
            "RATE_LIMIT_SLOW_MS": "200",
            "RATE_LIMIT_SLOW_PENALTY": "10",
        }
        manage(env, "migrate", "--noinput")
        workspace = f"noisy-{uuid.uuid4().hex[:8]}"
        keys = [
            manage(env, "create_api_key", "--workspace", workspace, "--scope", scope).splitlines()[-1]
            for scope in ("write", "read", "read")
        ]
        write_key, noisy_key, quiet_key = keys
        server_env = {**env, "PROMETHEUS_MULTIPROC_DIR": os.path.join(tmp, "prometheus"), "TMPDIR": tmp}
        with gunicorn_server(server_env, workers=2, log_path=Path(tmp, "gunicorn.log")) as base:
            with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {write_key}"}, timeout=30) as client:
                for key, body in (("heavy", HEAVY), ("lesson", LESSON)):
                    response = client.post("/api/v1/templates", json={"key": key, "name": key, "template": body})
                    assert response.status_code == 201, response.text
            noisy = script(Path(tmp, "noisy.lua"), "POST", noisy_key, {"template_id": "heavy"})
            quiet = script(Path(tmp, "quiet.lua"), "GET", quiet_key)
            outputs: dict[str, str] = {}
            noise = threading.Thread(
                target=run_wrk,
                args=(f"{base}/api/v1/prompts/generate", noisy, args.connections, args.duration, outputs, "noisy"),
            )
            noise.start()
            time.sleep(3)  # the noise is running
            run_wrk(f"{base}/api/v1/templates/lesson", quiet, 1, args.duration - 5, outputs, "quiet")
            noise.join()
    noisy_result, quiet_result = parse_wrk(outputs["noisy"]), parse_wrk(outputs["quiet"])
    print("--- noisy key: expensive renders ---", outputs["noisy"], sep="\n")
    print("--- quiet key: cheap authenticated GET ---", outputs["quiet"], sep="\n")
    p99 = quiet_result["p99_ms"]
    print(
        f"noisy: {noisy_result['requests']} requests, {noisy_result['non_2xx']} not 2xx (429 rate_limited, 422 budget)"
    )
    print(f"quiet: {quiet_result['requests']} requests, {quiet_result['non_2xx']} not 2xx, p99 {p99:.1f} ms")
    print(f"quiet p99 {p99:.1f} ms (target < {args.target_ms:g} ms): {'PASS' if p99 < args.target_ms else 'FAIL'}")
    return 0 if p99 < args.target_ms and not quiet_result["non_2xx"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
