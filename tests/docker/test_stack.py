"""docker/compose.yaml started for real, without a Docker daemon (tests/docker/stack.py says how): migrate runs
once, two web replicas answer through the proxy's nginx config, the worker runs the tasks beat schedules, every
process has its metrics folder, every healthcheck passes, and the first-run commands work."""

import re
import shutil
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.conf import settings

from tests.docker.stack import DOCKER, Stack, nginx
from tests.support.servers import database_url_for_tests, wait_for

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.broker,
    pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed (apt-get install nginx)"),
]

COMPOSE_VARIABLES = {
    "SECRET_KEY": "stack-test-secret-key-0123456789-abcdefghijklmnop",
    "METRICS_TOKEN": "stack-test-metrics-token",
    "GRAFANA_ADMIN_PASSWORD": "unused-here",
    "METRICS_ENV": "stacktest",
}
# The one change to the services' environment beyond hosts, paths and ports: beat schedules the worker
# heartbeat every 2 s instead of 30, so the test sees it run.
FASTER = {"WORKER_HEARTBEAT_SECONDS": "2"}


def metric(text: str, name: str) -> float | None:
    match = re.search(rf"^{name}(?:{{[^}}]*}})? (\S+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else None


def health_count(text: str) -> float:
    pattern = (
        r'django_http_responses_total_by_status_view_method_total\{method="GET",status="200",view="health"\} (\S+)'
    )
    match = re.search(pattern, text)
    return float(match.group(1)) if match else 0.0


@pytest.fixture
def stack(db, tmp_path):  # the stack has its own database: no need to see this one
    stack = Stack(
        tmp_path,
        database_url=database_url_for_tests(),
        redis_url=settings.REDIS_URL,
        broker_url=settings.CELERY_BROKER_URL,
        variables=COMPOSE_VARIABLES,
    )
    stack.create_database()
    try:
        yield stack
    finally:
        stack.stop()
        stack.drop_database()


def test_the_compose_stack_starts_serves_through_the_proxy_and_runs_its_tasks(stack):
    services = stack.services
    app_services = {"migrate", "web", "worker", "beat"}
    # Only migrate migrates; everything else waits for it to have finished.
    for name in app_services - {"migrate"}:
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert "migrate" not in " ".join(services[name]["command"])

    migrate = stack.container("migrate")
    done = migrate.run()
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Applying generation.0001_initial" in done.stdout

    replicas = services["web"]["deploy"]["replicas"]
    assert replicas == 2
    webs = [stack.start("web", replica) for replica in range(1, replicas + 1)]
    worker = stack.start("worker")
    beat = stack.container("beat")
    beat.env.update(FASTER)
    beat.start()
    stack.containers.append(beat)
    token = {"Authorization": f"Bearer {COMPOSE_VARIABLES['METRICS_TOKEN']}"}

    # First run: the commands the README gives (`docker compose run --rm web python manage.py ...`), run while
    # the services start.
    script = (DOCKER / "first-run.sh").read_text()
    assert "run --rm migrate" in script
    assert "run --rm web python manage.py createsuperuser" in script
    assert "web python manage.py createsuperuser --noinput" in script
    assert "run --rm web python manage.py create_api_key --workspace" in script
    superuser = stack.container("web", 8, ["python", "manage.py", "createsuperuser", "--noinput"])
    superuser.env.update(
        DJANGO_SUPERUSER_USERNAME="admin",
        DJANGO_SUPERUSER_EMAIL="a@example.com",
        DJANGO_SUPERUSER_PASSWORD="x-Y-z-9876",
    )
    command = ["python", "manage.py", "create_api_key", "--workspace", "acme", "--scope", "admin"]
    pool = ThreadPoolExecutor(max_workers=4)
    first_run = [pool.submit(superuser.run), pool.submit(stack.container("web", 9, command).run)]

    with nginx(stack, [web.ports["http"] for web in webs]) as port:
        proxy = f"http://127.0.0.1:{port}"

        def healthy_through_proxy():
            try:
                return httpx.get(f"{proxy}/health", timeout=5).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy_through_proxy, 60, "/health through the proxy: " + webs[0].output()[-2000:])
        # The proxy spreads requests over both replicas (each counts its own in its own metrics folder).
        for _ in range(20):
            answer = httpx.get(f"{proxy}/health", timeout=5)
            assert answer.status_code == 200 and answer.json()["checks"] == {
                "database": "ok",
                "cache": "ok",
                "broker": "ok",
            }
        for web in webs:
            text = httpx.get(f"http://127.0.0.1:{web.ports['http']}/metrics", headers=token, timeout=10).text
            assert health_count(text) >= 2, "a replica the proxy sent nothing to"
        # /metrics needs the token the compose file gives web and Prometheus.
        assert httpx.get(f"{proxy}/metrics", timeout=10).status_code == 401
        assert httpx.get(f"{proxy}/metrics", headers=token, timeout=10).status_code == 200

        made, created = (future.result(timeout=120) for future in first_run)
        assert made.returncode == 0, made.stderr[-2000:]
        assert created.returncode == 0, created.stderr[-2000:]
        key = created.stdout.strip().splitlines()[-1]
        listed = httpx.get(f"{proxy}/api/v1/templates", headers={"Authorization": f"Bearer {key}"}, timeout=10)
        assert listed.status_code == 200, listed.text

        # The proxy's own refusals under /api/ are the API's errors.
        too_large = httpx.post(f"{proxy}/api/v1/templates", content=b"x" * (3 * 1024 * 1024), timeout=30)
        assert too_large.status_code == 413
        assert too_large.json()["error"]["code"] == "payload_too_large"
        too_long = httpx.get(f"{proxy}/api/v1/templates?q={'a' * 20000}", timeout=10)
        assert too_long.status_code == 414 and too_long.json()["error"]["code"] == "uri_too_long"
        big_headers = httpx.get(f"{proxy}/api/v1/templates", headers={"X-Big": "b" * 20000}, timeout=10)
        assert big_headers.status_code == 431 and big_headers.json()["error"]["code"] == "headers_too_large"

        # Beat sends the tasks it schedules; the worker runs them (the heartbeat shows on its /metrics).
        worker_metrics = f"http://127.0.0.1:{worker.ports['metrics']}/metrics"

        def heartbeat():
            try:
                return metric(
                    httpx.get(worker_metrics, timeout=5).text, "promptconfig_worker_heartbeat_timestamp_seconds"
                )
            except httpx.TransportError:
                return None

        def backlog():
            try:
                return metric(httpx.get(worker_metrics, timeout=5).text, "generation_log_backlog")
            except httpx.TransportError:
                return None

        wait_for(heartbeat, 60, "the worker heartbeat:\n" + worker.output()[-3000:] + beat.output()[-2000:])
        # The flush task (every 5 s) measures the queue; it may run after the first heartbeat.
        wait_for(lambda: backlog() is not None, 30, "the flush task's backlog gauge:\n" + worker.output()[-3000:])
        assert backlog() == 0.0
        assert "Sending due task worker-heartbeat (promptconfig.heartbeat)" in beat.output()
        wait_for(lambda: "generations_flush_task" in worker.output() and "succeeded" in worker.output(), 30, "flush")

        # Every healthcheck of the compose file passes, in its own container.
        checks = {}
        for container in (*webs, worker, beat):
            check = services[container.service]["healthcheck"]["test"]
            assert check[0] == "CMD"
            checks[container.service, container.tmp] = pool.submit(container.exec, check[1:])
        for (service, _), future in checks.items():
            result = future.result(timeout=60)
            assert result.returncode == 0, (service, result.stderr)

        # Every process got its metrics folder from the entrypoint, and wrote its samples there.
        for container in (migrate, *webs, worker, beat):
            folder = container.tmp / "prometheus"
            assert folder.is_dir(), container.service
        for container in (migrate, *webs, worker):
            assert list((container.tmp / "prometheus").glob("*.db")), container.service

        # No replica left: the proxy says so in the API's shape.
        for web in webs:
            web.stop()
        gone = httpx.get(f"{proxy}/api/v1/templates", timeout=10)
        assert gone.status_code == 502 and gone.json()["error"]["code"] == "bad_gateway"
    pool.shutdown()
