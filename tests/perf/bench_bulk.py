"""Bulk benchmark: one job of 1,000 creates through gunicorn and a real Celery worker, its progress polled while it
runs; then the export of those templates and an import dry run of the export.

Run from the repo root: `.venv/bin/python -m tests.perf.bench_bulk [--items 1000] [--poll 0.5]`. Needs PostgreSQL
(DATABASE_URL, else a throwaway database) and Redis (REDIS_URL, default redis://127.0.0.1:6379/12; the broker
CELERY_BROKER_URL, default redis://127.0.0.1:6379/13, on its own queue). Prints the progress timeline, the job's
duration and rate, and exits 1 if the job does not succeed or its progress was never seen between 0 and 1.
"""

import argparse
import os
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

from tests.perf.bench import cache_dropped, database, manage
from tests.support.servers import celery_worker, gunicorn_server

BODY = "You are a patient tutor. Explain {{ topic }} to a {{ learning_style }} learner, item {{ n }}."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1000, help="creates in the job (default 1000, the maximum)")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between progress reads (default 0.5)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    run_id = f"{int(time.time())}_{os.getpid()}"
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/12")
    prefix = f"bulk_{run_id}"
    with database() as database_url, cache_dropped(redis_url, prefix), tempfile.TemporaryDirectory() as tmp:
        env = {
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "CELERY_BROKER_URL": os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/13"),
            "CELERY_QUEUE": f"bench-bulk-{uuid.uuid4().hex}",
            "CACHE_KEY_PREFIX": prefix,
            "DEBUG": "0",
            "SECRET_KEY": "perf-secret-key",
            "LOG_LEVEL": "WARNING",
            "RATE_LIMIT_WRITE": "100000/minute",
            "RATE_LIMIT_EXPENSIVE": "100000/minute",
        }
        manage(env, "migrate", "--noinput")
        workspace = f"bulk-{uuid.uuid4().hex[:8]}"
        key = manage(env, "create_api_key", "--workspace", workspace, "--scope", "write").splitlines()[-1]
        server_env = {**env, "PROMETHEUS_MULTIPROC_DIR": os.path.join(tmp, "prometheus"), "TMPDIR": tmp}
        items = [
            {"key": f"bulk_{n:04d}", "name": f"Bulk {n}", "template": BODY, "tags": ["bench"], "category": "bench"}
            for n in range(args.items)
        ]
        with (
            gunicorn_server(server_env, workers=2, log_path=Path(tmp, "gunicorn.log")) as base,
            celery_worker(server_env, log_path=Path(tmp, "worker.log")),
            httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60) as client,
        ):
            started = time.monotonic()
            queued = client.post("/api/v1/bulk/templates", json={"operation": "create", "items": items})
            assert queued.status_code == 202, queued.text
            job_id = queued.json()["job_id"]
            accepted = time.monotonic() - started
            timeline = []
            while True:
                job = client.get(f"/api/v1/bulk/jobs/{job_id}").json()
                timeline.append((time.monotonic() - started, job["status"], job["done"], job["progress"]))
                if job["finished_at"]:
                    break
                if time.monotonic() - started > 900:
                    print("the job did not finish within 15 minutes", file=sys.stderr)
                    return 1
                time.sleep(args.poll)
            elapsed = time.monotonic() - started
            t0 = time.monotonic()
            exported = client.get("/api/v1/export")
            export_seconds = time.monotonic() - t0
            t0 = time.monotonic()
            plan = client.post(
                "/api/v1/import?dry_run=true",
                content=exported.content,
                headers={"Content-Type": "application/yaml"},
            )
            import_seconds = time.monotonic() - t0
    print("  t (s)  status            done  progress")
    step = max(1, len(timeline) // 20)
    for moment, status, done, progress in timeline[::step] + ([timeline[-1]] if len(timeline) % step != 1 else []):
        print(f"{moment:7.1f}  {status:<16} {done:5d}  {progress:.3f}")
    midway = [row for row in timeline if 0 < row[3] < 1]
    print(f"POST accepted in {accepted * 1000:.0f} ms; job {job['status']} in {elapsed:.1f} s")
    print(f"{job['total']} items, {job['failed']} failed: {job['total'] / elapsed:.0f} items/s")
    print(f"progress read {len(timeline)} times, {len(midway)} of them while running (0 < progress < 1)")
    print(f"export of {args.items} templates: {len(exported.content) / 1024:.0f} KiB in {export_seconds:.2f} s")
    actions = {row["action"] for row in plan.json().get("plan", [])}
    print(f"import dry run of that export: {plan.status_code} {sorted(actions)} in {import_seconds:.2f} s")
    ok = job["status"] == "succeeded" and bool(midway) and actions == {"unchanged"}
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
