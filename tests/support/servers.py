"""Run the real service under gunicorn in a subprocess, against the test database."""

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


METRICS_TOKEN = "test-metrics-token"


def scrape(base_url: str) -> str:
    """The /metrics text of a server started here (it gets METRICS_TOKEN)."""
    headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    return httpx.get(f"{base_url}/metrics", headers=headers, timeout=10).text


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url_for_tests(host: str | None = None, port: int | None = None) -> str:
    """A DATABASE_URL for the database this test run uses (PostgreSQL), optionally via a proxy."""
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{host or db['HOST'] or '127.0.0.1'}:{port or db['PORT'] or 5432}/{db['NAME']}"


@dataclass
class Served:
    url: str
    process: subprocess.Popen
    port: int


@contextlib.contextmanager
def gunicorn_process(
    env: dict[str, str], workers: int = 2, log_path: Path | None = None, port: int | None = None
) -> Iterator[Served]:
    """Start gunicorn with docker/gunicorn.conf.py (on `port`, or a free one); yield it once it answers HTTP.
    A test may stop the process itself (by its PID) to see the service die."""
    port = port or free_port()
    full_env = {
        **os.environ,
        "SECRET_KEY": "test-secret-key",
        "DEBUG": "0",
        "METRICS_TOKEN": METRICS_TOKEN,
        "RATE_LIMIT_SLOW_PENALTY": "0",  # a loaded test machine makes ordinary calls slow
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
    }
    log = open(log_path or os.devnull, "ab")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "docker/gunicorn.conf.py"],
        cwd=ROOT,
        env=full_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_serving(base_url, process)
        yield Served(url=base_url, process=process, port=port)
    finally:
        stop(process)
        log.close()


@contextlib.contextmanager
def gunicorn_server(env: dict[str, str], workers: int = 2, log_path: Path | None = None) -> Iterator[str]:
    """Start gunicorn with docker/gunicorn.conf.py; yield its base URL once it answers HTTP."""
    with gunicorn_process(env, workers, log_path) as served:
        yield served.url


def stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL after 20 s; nothing if it has stopped already."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_until_serving(base_url: str, process: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with code {process.returncode}")
        try:
            httpx.get(f"{base_url}/health", timeout=5)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer at {base_url} within {timeout}s")


@contextlib.contextmanager
def celery_worker(env: dict[str, str], *, log_path: Path, beat: bool = False) -> Iterator[subprocess.Popen]:
    """Start a real Celery worker (solo pool; with `beat`, the embedded beat scheduler) in a subprocess.

    Give `env` its own CELERY_QUEUE so that no other test's messages reach it. Yields the process once the
    worker says it is ready (it logs to `log_path`); stops it (SIGTERM, then SIGKILL) on the way out, unless
    the test killed it already.
    """
    full_env = {**os.environ, "SECRET_KEY": "test-secret-key", "DEBUG": "0", **env}
    command = [sys.executable, "-m", "celery", "-A", "promptconfig", "worker", "--pool=solo", "--loglevel=INFO"]
    if beat:
        command += ["--beat", "--schedule", str(log_path.with_suffix(".beat-schedule"))]
    log = open(log_path, "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(command, cwd=ROOT, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while b"ready." not in Path(log_path).read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker did not start:\n{Path(log_path).read_text()[-3000:]}")
            time.sleep(0.2)
        yield process
    finally:
        stop(process)
        log.close()


def worker_env(queue: str, **extra: str) -> dict[str, str]:
    """The environment of a Celery worker subprocess on this test run's database, Redis and broker, with its
    own queue (CELERY_QUEUE) so that no other test's messages reach it."""
    from django.conf import settings

    return {
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": settings.REDIS_URL,
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "CACHE_KEY_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", ""),
        "CELERY_QUEUE": queue,
        **extra,
    }


def wait_for(predicate, timeout: float, what: str):
    """Poll `predicate` until it returns something truthy (returned); fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out waiting for {what}")
