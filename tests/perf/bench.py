"""Load benchmark: the service under gunicorn (tests.perf.settings), driven by wrk from 127.0.0.1.

Run from the repo root: `tests/perf/run [--duration 10] [--connections 8] [--workers 2] [--json out.json]`.
Needs PostgreSQL and Redis: DATABASE_URL (else a throwaway database on postgres://postgres@127.0.0.1:5432)
and REDIS_URL (default redis://127.0.0.1:6379/12). Every scenario must answer 2xx; each is reported with its
requests/s as a ratio of the `bare` scenario's (an authenticated DRF view that does nothing) of the same run.
"""

import argparse
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from tests.support.servers import ROOT, gunicorn_server


@dataclass(frozen=True)
class Scenario:
    name: str
    method: str
    path: str
    body: dict | None = None  # sent as JSON


# One line a scenario. `bare` is the baseline the others are compared with.
SCENARIOS = [
    Scenario("bare", "GET", "/api/v1/perf/bare"),
    Scenario("health", "GET", "/health"),
]

ADMIN_URL = "postgres://postgres@127.0.0.1:5432/postgres"
WARMUP_SECONDS = 2


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per scenario (default 10)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args()
    # SIGTERM unwinds like Ctrl-C, so gunicorn is stopped and the database dropped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    with tempfile.TemporaryDirectory(prefix="promptconfig-perf-") as tmp, database() as database_url:
        env = {
            "DJANGO_SETTINGS_MODULE": "tests.perf.settings",
            "DATABASE_URL": database_url,
            "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12"),
            "DEBUG": "0",
            "SECRET_KEY": "perf-secret-key",
            "LOG_LEVEL": "WARNING",
        }
        manage(env, "migrate", "--noinput")
        api_key = manage(env, "create_api_key", "--workspace", "perf", "--scope", "read").splitlines()[-1]
        log_path = Path(tmp, "gunicorn.log")
        try:
            # Metrics samples go to our temp folder (gunicorn.conf.py would leave one of its own in /tmp).
            server_env = {**env, "PROMETHEUS_MULTIPROC_DIR": os.path.join(tmp, "prometheus")}
            with gunicorn_server(server_env, workers=args.workers, log_path=log_path) as base_url:
                results = [measure(base_url, api_key, scenario, args, Path(tmp)) for scenario in SCENARIOS]
        except KeyboardInterrupt:
            raise
        except BaseException:
            if log_path.exists():
                print("--- gunicorn log (last 40 lines) ---", *log_path.read_text().splitlines()[-40:], sep="\n")
            raise

    baseline = next(r for r in results if r["name"] == "bare")["requests_per_s"]
    for result in results:
        result["ratio_to_bare"] = round(result["requests_per_s"] / baseline, 3)
    print_table(results, args)
    if args.json:
        config = {k: getattr(args, k) for k in ("duration", "connections", "threads", "workers")}
        args.json.write_text(json.dumps({"config": config, "results": results}, indent=2) + "\n")
    return 0


@contextlib.contextmanager
def database() -> Iterator[str]:
    """DATABASE_URL if set; else a fresh database, dropped on the way out."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    name = f"promptconfig_perf_{time.strftime('%Y%m%d_%H%M%S')}"
    with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict[str, str], *command: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode:
        sys.exit(f"manage.py {command[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def measure(base_url: str, api_key: str, scenario: Scenario, args, tmp: Path) -> dict:
    url = base_url + scenario.path
    headers = {"Authorization": f"Bearer {api_key}"}
    body = json.dumps(scenario.body) if scenario.body is not None else None
    if body is not None:
        headers["Content-Type"] = "application/json"
    # One request first: wrk counts only >= 400 as errors, and a wrong answer is clearer here.
    response = httpx.request(scenario.method, url, headers=headers, content=body, timeout=10)
    if not 200 <= response.status_code < 300:
        sys.exit(f"{scenario.name}: {scenario.method} {scenario.path} answered {response.status_code}: {response.text}")

    script = tmp / f"{scenario.name}.lua"
    lines = [f"wrk.method = {lua_string(scenario.method)}"]
    lines += [f"wrk.headers[{lua_string(k)}] = {lua_string(v)}" for k, v in headers.items()]
    if body is not None:
        lines.append(f"wrk.body = {lua_string(body)}")
    script.write_text("\n".join(lines) + "\n")

    wrk(url, script, WARMUP_SECONDS, args)
    output = wrk(url, script, args.duration, args)
    result = {"name": scenario.name, "method": scenario.method, "path": scenario.path, **parse_wrk(output)}
    if result["non_2xx"] or result["socket_errors"] or not result["requests"]:
        sys.exit(f"{scenario.name}: errors under load:\n{output}")
    return result


def wrk(url: str, script: Path, seconds: int, args) -> str:
    command = ["wrk", "--latency", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{seconds}s"]
    done = subprocess.run(
        [*command, "-s", str(script), url], capture_output=True, text=True, timeout=seconds + 30, check=False
    )
    if done.returncode:
        sys.exit(f"wrk failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    return done.stdout


def lua_string(text: str) -> str:
    """A Lua string literal: printable ASCII as is, every other byte as a decimal escape."""
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in b'"\\' else f"\\{b:03d}" for b in text.encode()) + '"'


MS_PER_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def parse_wrk(output: str) -> dict:
    def latency_ms(percent: str) -> float:
        value, unit = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m|h)\s*$", output, re.M).groups()
        return round(float(value) * MS_PER_UNIT[unit], 3)

    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": latency_ms("50"),
        "p99_ms": latency_ms("99"),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "non_2xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
    }


def print_table(results: list[dict], args) -> None:
    print(
        f"\n{args.duration}s per scenario, {args.connections} connections, {args.threads} wrk threads, "
        f"{args.workers} gunicorn workers"
    )
    print(f"{'scenario':<12} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} {'vs bare':>8}")
    for r in results:
        print(
            f"{r['name']:<12} {r['requests_per_s']:>10.1f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
            f"{r['non_2xx']:>8} {r['ratio_to_bare']:>8.2f}"
        )


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit("interrupted")
