"""gunicorn settings for the web service (Docker, the tests and tests/perf use this same file).

Prometheus metrics are collected in prometheus_client's multiprocess mode: every worker writes its
samples to PROMETHEUS_MULTIPROC_DIR and /metrics sums them, whichever worker answers the scrape.
"""

import json
import os
import shutil
import tempfile

from gunicorn import util

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 20
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESSLOG") or None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
wsgi_app = "promptconfig.wsgi:application"
# gunicorn's control socket is one path per user: several servers on a host (tests, benchmarks)
# would fight over it, and nothing here uses gunicornc.
control_socket_disable = True

# Must be in the environment before any worker imports prometheus_client.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="promptconfig-prometheus-")


# gunicorn's own refusals (a request line over limit_request_line, headers over their limits, a request it cannot
# parse) reach no view: answer them in the API's error shape, as the docker proxy does, not as an HTML page.
_GUNICORN_ERRORS = {
    414: ("uri_too_long", "The request URI is too long."),
    431: ("headers_too_large", "The request headers are too large."),
}


def _write_json_error(sock, status_int, reason, mesg):
    default = ("server_error", "An internal error occurred.") if status_int >= 500 else ("validation_error", "")
    code, message = _GUNICORN_ERRORS.get(status_int, default)
    error = {"code": code, "message": message or f"{reason}: {mesg}"[:300], "details": {}}
    body = json.dumps({"error": error}).encode()
    head = f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
    util.write_nonblock(sock, f"{head}Content-Length: {len(body)}\r\n\r\n".encode("latin-1") + body)


util.write_error = _write_json_error


def on_starting(server):
    """Samples of a previous run would be summed with this one's: start from an empty folder."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker):
    """Django, DRF and the project are loaded: take what they allocated out of the garbage collector's
    generations, so the collections that requests trigger scan only what requests allocate."""
    import gc

    gc.freeze()
