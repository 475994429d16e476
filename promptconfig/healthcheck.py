"""Container healthchecks: `python -m promptconfig.healthcheck web|worker|beat` exits 0 when healthy.

- web: GET /health on the local gunicorn (GUNICORN_BIND's port) answers 200.
- worker: this container's Celery worker (celery@<hostname>) answers a ping through the broker.
- beat: BEAT_HEARTBEAT_FILE, touched whenever beat sends a task, is younger than BEAT_HEARTBEAT_MAX_AGE.
"""

import os
import socket
import sys
import time
import urllib.request


def check_web() -> str | None:
    port = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000").rpartition(":")[2]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=4) as response:
            return None if response.status == 200 else f"/health answered {response.status}"
    except Exception as exc:  # a 503 (database down) raises HTTPError
        return f"/health: {exc}"


def check_worker() -> str | None:
    from promptconfig.celery import app

    node = f"celery@{socket.gethostname()}"
    replies = app.control.ping(destination=[node], timeout=float(os.environ.get("WORKER_PING_TIMEOUT", "5")))
    return None if any(node in reply for reply in replies) else f"{node} did not answer the ping"


def check_beat() -> str | None:
    path = os.environ.get("BEAT_HEARTBEAT_FILE", "")
    max_age = int(os.environ.get("BEAT_HEARTBEAT_MAX_AGE", "60"))
    if not path:
        return "BEAT_HEARTBEAT_FILE is not set"
    try:
        age = time.time() - os.path.getmtime(path)
    except OSError as exc:
        return f"no heartbeat file: {exc}"
    return None if age <= max_age else f"beat sent no task for {age:.0f} s"


CHECKS = {"web": check_web, "worker": check_worker, "beat": check_beat}


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in CHECKS:
        print(f"usage: python -m promptconfig.healthcheck {'|'.join(CHECKS)}", file=sys.stderr)
        return 2
    problem = CHECKS[argv[0]]()
    if problem:
        print(f"unhealthy: {problem}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
