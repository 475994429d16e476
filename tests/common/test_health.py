"""GET /health: ok, degraded with Redis down, 503 with the database down (real services)."""

from urllib.parse import urlsplit

import httpx
import pytest
from django.conf import settings

import promptconfig
from promptconfig.workspaces.services import api_key_create
from tests.factories import WorkspaceFactory
from tests.support.proxy import TcpProxy
from tests.support.servers import database_url_for_tests, gunicorn_server


def test_health_needs_no_key_and_reports_each_check(client, db):
    response = client.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker"}
    assert body["checks"]["database"] == body["checks"]["cache"] == "ok"
    assert body["checks"]["broker"] == ("ok" if settings.CELERY_BROKER_URL else "not_configured")
    assert body["version"] == promptconfig.__version__


@pytest.mark.postgres
@pytest.mark.redis
def test_health_sees_every_real_service(client, db):
    body = client.get("/health").json()
    assert body == {**body, "status": "ok", "checks": {"database": "ok", "cache": "ok", "broker": "ok"}}


def _redis_via(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    return parts._replace(netloc=f"127.0.0.1:{proxy.port}").geturl()


@pytest.mark.postgres
@pytest.mark.redis
def test_redis_down_is_degraded_and_the_api_still_answers(transactional_db, tmp_path):
    _, plaintext = api_key_create(workspace=WorkspaceFactory(), name="k", scope="admin")
    redis = urlsplit(settings.REDIS_URL)
    proxy = TcpProxy(redis.hostname, redis.port or 6379)
    env = {
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": _redis_via(proxy, settings.REDIS_URL),
        "CELERY_BROKER_URL": _redis_via(proxy, settings.CELERY_BROKER_URL or settings.REDIS_URL),
        "HEALTH_BROKER_CHECK_SECONDS": "0",  # every call checks: the outage shows at once
    }
    with gunicorn_server(env, workers=1, log_path=tmp_path / "gunicorn.log") as base:
        assert httpx.get(f"{base}/health", timeout=10).json()["status"] == "ok"
        proxy.stop()
        response = httpx.get(f"{base}/health", timeout=10)
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "degraded"
        assert body["checks"] == {"database": "ok", "cache": "error", "broker": "error"}
        listing = httpx.get(f"{base}/api/v1/api-keys", headers={"Authorization": f"Bearer {plaintext}"}, timeout=10)
        assert listing.status_code == 200


@pytest.mark.redis
@pytest.mark.skipif(not settings.CELERY_BROKER_URL, reason="needs a broker (CELERY_BROKER_URL)")
def test_the_broker_is_checked_once_per_interval(client, db, settings, monkeypatch):
    broker = urlsplit(settings.CELERY_BROKER_URL)
    proxy = TcpProxy(broker.hostname, broker.port or 6379)
    monkeypatch.setenv("CELERY_BROKER_URL", _redis_via(proxy, settings.CELERY_BROKER_URL))  # Celery reads it first
    try:
        settings.HEALTH_BROKER_CHECK_SECONDS = 60
        for _ in range(3):
            assert client.get("/health").json()["checks"]["broker"] == "ok"
        assert proxy.accepted == 1  # one connection for three calls
        settings.HEALTH_BROKER_CHECK_SECONDS = 0
        assert client.get("/health").json()["checks"]["broker"] == "ok"
        assert proxy.accepted == 2
    finally:
        proxy.stop()


@pytest.mark.postgres
def test_database_down_is_503_on_health_and_a_json_503_on_the_api(transactional_db, tmp_path):
    _, plaintext = api_key_create(workspace=WorkspaceFactory(), name="k", scope="admin")
    database = settings.DATABASES["default"]
    proxy = TcpProxy(database["HOST"] or "127.0.0.1", int(database["PORT"] or 5432))
    env = {"DATABASE_URL": database_url_for_tests(host="127.0.0.1", port=proxy.port)}
    with gunicorn_server(env, workers=1, log_path=tmp_path / "gunicorn.log") as base:
        headers = {"Authorization": f"Bearer {plaintext}"}
        assert httpx.get(f"{base}/health", timeout=10).status_code == 200
        assert httpx.get(f"{base}/api/v1/api-keys", headers=headers, timeout=10).status_code == 200
        proxy.stop()
        response = httpx.get(f"{base}/health", timeout=10)
        assert response.status_code == 503
        assert response.json()["status"] == "error"
        assert response.json()["checks"]["database"] == "error"
        api = httpx.get(f"{base}/api/v1/api-keys", headers=headers, timeout=10)
        assert api.status_code == 503
        assert api.json()["error"]["code"] == "service_unavailable"
