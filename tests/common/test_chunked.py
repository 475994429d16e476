"""A body sent with `Transfer-Encoding: chunked` (no Content-Length) reaches the view under gunicorn: before,
Django read it as empty, so a PATCH answered 200 and changed nothing."""

import httpx
import pytest
from django.conf import settings

from promptconfig.workspaces.services import api_key_create
from tests.factories import WorkspaceFactory
from tests.support.servers import database_url_for_tests, gunicorn_server


def chunks(text: str):
    """httpx sends a generator's pieces chunked."""
    data = text.encode()
    for start in range(0, len(data), 7):
        yield data[start : start + 7]


@pytest.mark.postgres
@pytest.mark.redis
def test_chunked_writes_are_read_under_gunicorn(transactional_db, tmp_path):
    _, plaintext = api_key_create(workspace=WorkspaceFactory(), name="k", scope="write")
    headers = {"Authorization": f"Bearer {plaintext}", "Content-Type": "application/json"}
    env = {"DATABASE_URL": database_url_for_tests(), "REDIS_URL": settings.REDIS_URL, "MAX_REQUEST_BYTES": "2000"}
    with (
        gunicorn_server(env, workers=1, log_path=tmp_path / "gunicorn.log") as base,
        httpx.Client(base_url=f"{base}/api/v1", headers=headers, timeout=10) as client,
    ):
        created = client.post("/templates", content=chunks('{"key": "lesson", "name": "L", "template": "v1 {{ a }}"}'))
        assert created.request.headers["Transfer-Encoding"] == "chunked"
        assert created.status_code == 201, created.text

        changed = client.patch("/templates/lesson", content=chunks('{"template": "v2 {{ a }}"}'))
        assert changed.status_code == 200, changed.text
        assert (changed.json()["version"], changed.json()["template"]) == (2, "v2 {{ a }}")

        too_large = client.patch("/templates/lesson", content=chunks('{"template": "%s"}' % ("x" * 3000)))
        assert too_large.status_code == 413
        assert too_large.json()["error"]["code"] == "payload_too_large"
        served = client.get("/templates/lesson").json()
        assert (served["version"], served["template"]) == (2, "v2 {{ a }}")
