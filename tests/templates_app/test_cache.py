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
