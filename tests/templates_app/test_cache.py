"""Served versions are cached in Redis and dropped on every change, for every web process."""

import contextlib

import httpx
import pytest
from django.conf import settings

from promptconfig.workspaces.services import api_key_create
from tests.factories import WorkspaceFactory
from tests.support.servers import database_url_for_tests, gunicorn_server


@pytest.mark.postgres
@pytest.mark.redis
def test_publish_and_rollback_are_seen_at_once_by_another_process(transactional_db, tmp_path):
    _, plaintext = api_key_create(workspace=WorkspaceFactory(), name="k", scope="write")
    headers = {"Authorization": f"Bearer {plaintext}"}
    env = {"DATABASE_URL": database_url_for_tests(), "REDIS_URL": settings.REDIS_URL}
    with contextlib.ExitStack() as stack:
        first, second = (
            stack.enter_context(gunicorn_server(env, workers=1, log_path=tmp_path / f"{name}.log"))
            for name in ("first", "second")
        )

        def served(base: str) -> int:
            response = httpx.get(f"{base}/api/v1/templates/lesson", headers=headers, timeout=10)
            assert response.status_code == 200, response.text
            return response.json()["version"]

        created = httpx.post(
            f"{first}/api/v1/templates",
            headers=headers,
            timeout=10,
            json={"key": "lesson", "name": "Lesson", "template": "v1 {{ topic }}"},
        )
        assert created.status_code == 201, created.text
        assert served(first) == served(second) == 1  # both processes have it cached now
        httpx.patch(
            f"{first}/api/v1/templates/lesson", headers=headers, timeout=10, json={"template": "v2 {{ topic }}"}
        ).raise_for_status()
        assert served(second) == 2
        httpx.post(
            f"{second}/api/v1/templates/lesson/versions/1/rollback", headers=headers, timeout=10
        ).raise_for_status()
        assert served(first) == 1
        httpx.post(
            f"{second}/api/v1/templates/lesson/versions/2/publish", headers=headers, timeout=10
        ).raise_for_status()
        assert served(first) == served(second) == 2


@pytest.mark.postgres
@pytest.mark.redis
def test_generate_answers_correctly_with_redis_down(transactional_db, tmp_path):
    from urllib.parse import urlsplit

    from tests.support.proxy import TcpProxy

    _, plaintext = api_key_create(workspace=WorkspaceFactory(), name="k", scope="write")
    headers = {"Authorization": f"Bearer {plaintext}"}
    redis = urlsplit(settings.REDIS_URL)
    proxy = TcpProxy(redis.hostname, redis.port or 6379)
    env = {
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": redis._replace(netloc=f"127.0.0.1:{proxy.port}").geturl(),
    }
    with gunicorn_server(env, workers=1, log_path=tmp_path / "gunicorn.log") as base:
        httpx.post(
            f"{base}/api/v1/templates",
            headers=headers,
            timeout=10,
            json={
                "key": "lesson",
                "name": "Lesson",
                "template": "About {{ topic }} for a {{ learning_style }} learner",
            },
        ).raise_for_status()
        httpx.post(
            f"{base}/api/v1/profiles", headers=headers, timeout=10, json={"user_id": "u1", "learning_style": "reading"}
        ).raise_for_status()
        request = {"template_id": "lesson", "user_id": "u1", "context": {"topic": "tides"}}
        warm = httpx.post(f"{base}/api/v1/prompts/generate", headers=headers, json=request, timeout=10)
        assert warm.status_code == 200
        proxy.stop()
        for _ in range(3):
            response = httpx.post(f"{base}/api/v1/prompts/generate", headers=headers, json=request, timeout=10)
            assert response.status_code == 200, response.text
            body = response.json()
            assert body["generated_prompt"] == "About tides for a reading learner" and body["cache_hit"] is False
        # writes still work, and are seen at once (nothing stale is served from a cache that is not there)
        httpx.patch(
            f"{base}/api/v1/profiles/u1", headers=headers, timeout=10, json={"learning_style": "visual"}
        ).raise_for_status()
        response = httpx.post(f"{base}/api/v1/prompts/generate", headers=headers, json=request, timeout=10)
        assert response.json()["generated_prompt"] == "About tides for a visual learner"
        assert httpx.get(f"{base}/health", timeout=10).json()["status"] == "degraded"
