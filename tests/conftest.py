import functools
import os
import shutil

import pytest
from django.conf import settings
from django.core.cache import cache
from rest_framework.test import APIClient

from promptconfig.workspaces.services import api_key_create
from tests.factories import WorkspaceFactory

pytest_plugins = ["tests.support.fixtures"]

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


@functools.cache
def _missing_service(name: str) -> str | None:
    """Why the service behind a marker is not usable here, or None when it is."""
    if name == "postgres":
        if "postgresql" not in settings.DATABASES["default"]["ENGINE"]:
            return "PostgreSQL is not configured (set DATABASE_URL)"
    elif name == "redis":
        if not settings.REDIS_URL:
            return "Redis is not configured (set REDIS_URL)"
        import redis

        try:
            redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1).ping()
        except redis.RedisError as exc:
            return f"Redis at REDIS_URL is not reachable: {exc}"
    elif name == "broker":
        if not settings.CELERY_BROKER_URL:
            return "no Celery broker is configured (set CELERY_BROKER_URL)"
    elif name == "browser":
        for binary in ("chromium", "chromedriver"):
            if not shutil.which(binary):
                return f"{binary} is not installed (apt-get install chromium chromium-driver)"
    return None


def pytest_runtest_setup(item: pytest.Item) -> None:
    for name in ("postgres", "redis", "broker", "browser"):
        if item.get_closest_marker(name) and (reason := _missing_service(name)):
            if REQUIRE_SERVICES:
                pytest.fail(f"REQUIRE_SERVICES=1 but {reason}", pytrace=False)
            pytest.skip(reason)


@pytest.fixture(autouse=True)
def _direct_generation_log(settings):
    """Tests read generation records right after making them; tests/templates_app/test_generation_log.py
    covers the queue."""
    settings.GENERATION_LOG_QUEUE = False


@pytest.fixture(autouse=True)
def _public_metrics(settings):
    """In-process tests read /metrics without a token; tests/common/test_metrics.py covers the token rules."""
    settings.METRICS_PUBLIC = True


@pytest.fixture(autouse=True)
def _no_slow_call_penalty(settings):
    """A loaded test machine makes ordinary calls slow: tests/security/test_rate_limits.py covers the penalty."""
    settings.RATE_LIMIT_SLOW_PENALTY = 0


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def workspace(db):
    return WorkspaceFactory()


@pytest.fixture
def make_client(db):
    """An APIClient holding a new key of the given scope for the given workspace."""

    def make(workspace=None, scope: str = "admin") -> APIClient:
        api_key, plaintext = api_key_create(workspace=workspace or WorkspaceFactory(), name=f"{scope} key", scope=scope)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
        client.api_key, client.plaintext = api_key, plaintext
        return client

    return make


@pytest.fixture
def api_client(make_client, workspace) -> APIClient:
    return make_client(workspace, "admin")


@pytest.fixture
def writer(make_client, workspace) -> APIClient:
    return make_client(workspace, "write")


@pytest.fixture
def reader(make_client, workspace) -> APIClient:
    return make_client(workspace, "read")


@pytest.fixture
def eager_tasks():
    """Celery tasks run in the calling process, as on the embedded default (no broker)."""
    from promptconfig.celery import app as celery_app

    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before
