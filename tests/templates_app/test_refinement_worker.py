"""One refinement end to end under a real Celery worker (Redis broker) against the local fake LLM."""

import uuid

import pytest
from django.conf import settings as django_settings
from django.db import transaction

from templates_app.models import Refinement
from templates_app.refinements import refinement_start
from templates_app.services import template_create
from templates_app.tasks import refinement_run_task
from tests.factories import WorkspaceFactory
from tests.support.fake_llm import FakeLLM
from tests.support.servers import celery_worker, wait_for, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.broker]


def test_a_worker_runs_a_refinement_and_stores_the_checked_proposal(transactional_db, tmp_path, settings):
    fake = FakeLLM()
    fake.answer_json("Explain {{ topic }} in two sentences.", "Shorter.")
    settings.LLM_BASE_URL = fake.url  # the web side checks that an endpoint is configured
    try:
        workspace = WorkspaceFactory()
        template = template_create(
            workspace=workspace, actor="t", key="lesson", name="L", template="Explain {{ topic }} at length."
        )
        with transaction.atomic():
            refinement = refinement_start(template=template, actor="t", goal="shorter", model="fake-model")
        queue = f"refinements-{uuid.uuid4().hex}"
        env = worker_env(queue, LLM_BASE_URL=fake.url, LLM_API_KEY="sk-worker-key-1", LLM_TIMEOUT="5")
        with celery_worker(env, log_path=tmp_path / "worker.log"):
            refinement_run_task.apply_async([refinement.pk], queue=queue)
            done = wait_for(
                lambda: Refinement.objects.filter(pk=refinement.pk, status__in=["succeeded", "failed"]).first(),
                60,
                "the worker's refinement",
            )
        assert done.status == "succeeded", done.error
        assert done.proposed_template == "Explain {{ topic }} in two sentences." and done.total_tokens == 165
        assert fake.requests[0]["headers"]["Authorization"] == "Bearer sk-worker-key-1"
        assert "sk-worker-key-1" not in (tmp_path / "worker.log").read_text()
        assert django_settings.CELERY_BROKER_URL
    finally:
        fake.close()
