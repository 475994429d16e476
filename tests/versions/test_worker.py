"""The hourly beat entry, end to end: a real Celery worker with its embedded beat finds the published
templates with a model_config, fans out one ensure-version task each, and the version rows appear."""

import hashlib
import uuid

import pytest
from django.conf import settings

from templates_app.services import template_create
from tests.factories import WorkspaceFactory
from tests.support.servers import celery_worker, wait_for, worker_env
from versions.models import ProviderVersion

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.broker]


def beats(tmp_path) -> int:
    """How many times beat's hourly entry (every second here) has reached the worker."""
    log = (tmp_path / "worker.log").read_text()
    return sum("versions.tasks.ensure_versions_due_task[" in line and "received" in line for line in log.splitlines())


def test_beat_ensures_the_versions_of_published_templates(transactional_db, tmp_path):
    workspace = WorkspaceFactory()
    for key, provider, model in (("steps", "openai", "gpt-4o"), ("story", "anthropic", "claude-3-5-sonnet")):
        config = {"provider": provider, "model": model, "params": {}}
        template_create(workspace=workspace, actor="t", key=key, name=key, template="{{ topic }}", model_config=config)
    template_create(workspace=workspace, actor="t", key="plain", name="plain", template="{{ topic }}")
    drafted = template_create(
        workspace=workspace,
        actor="t",
        key="draft",
        name="draft",
        template="{{ topic }}",
        status="draft",
        model_config={"provider": "google", "model": "gemini-1.5-pro", "params": {}},
    )
    assert drafted.status == "draft"
    env = worker_env(f"versions-{uuid.uuid4().hex}", PROBE_SCHEDULE_SECONDS="1", REDIS_URL=settings.REDIS_URL)
    with celery_worker(env, beat=True, log_path=tmp_path / "worker.log"):
        wait_for(lambda: ProviderVersion.objects.count() >= 2, 60, "the version rows")
        wait_for(lambda: beats(tmp_path) >= 3, 30, "two more beats")
    log = (tmp_path / "worker.log").read_text()
    assert "versions.tasks.ensure_versions_due_task" in log and "versions.tasks.ensure_version_task" in log
    rows = {
        (row.template.key, row.provider, row.model_id, row.provider_version_key)
        for row in ProviderVersion.objects.select_related("template")
    }
    assert rows == {
        ("steps", "openai", "gpt-4o", "fp_stub_" + hashlib.sha256(b"openai:gpt-4o").hexdigest()[:8]),
        ("story", "anthropic", "claude-3-5-sonnet", "claude-3-5-sonnet"),
    }
    # Beat ran every second, but the hour guard kept it to one probe per (template, provider, model).
    assert all(row.seen_count == 1 for row in ProviderVersion.objects.all())
