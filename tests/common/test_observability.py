"""Metrics the deployment's alerts and dashboard read: render failures, the generation-log backlog, the worker
heartbeat and the generate p95 target."""

import time

import pytest

from generation.log import generations_log, refresh_backlog_gauge
from generation.tasks import generations_flush_task
from promptconfig.celery import heartbeat
from promptconfig.common import metrics
from templates_app.services import template_create
from tests.support.api import code_of

GEN = "/api/v1/prompts/generate"


def render_failures(template_id: str, code: str) -> float:
    return metrics.prompt_render_failures_total.labels(template_id=template_id, code=code)._value.get()


def test_render_failures_are_counted_by_template_and_error_code(make_client, workspace):
    client = make_client(workspace, "read")
    template_create(workspace=workspace, actor="t", key="needs-topic", name="N", template="About {{ topic }}.")
    template_create(workspace=workspace, actor="t", key="fine", name="F", template="Hello.")
    before = render_failures("needs-topic", "missing_variables")
    for _ in range(2):
        response = client.post(GEN, {"template_id": "needs-topic"}, format="json")
        assert response.status_code == 422 and code_of(response) == "missing_variables"
    assert client.post(GEN, {"template_id": "fine"}, format="json").status_code == 200
    assert render_failures("needs-topic", "missing_variables") == before + 2
    assert render_failures("fine", "missing_variables") == 0
    text = client.get("/metrics").content.decode()
    assert 'prompt_render_failures_total{code="missing_variables",template_id="needs-topic"}' in text


@pytest.mark.redis
def test_the_backlog_gauge_follows_the_generation_log_queue(make_client, workspace, settings, transactional_db):
    from generation.services import generate

    settings.GENERATION_LOG_QUEUE = True
    template_create(workspace=workspace, actor="t", key="hello", name="H", template="Hello {{ name }}.")
    generations_flush_task()  # whatever an earlier test left
    records = [generate(workspace=workspace, template_id="hello", context={"name": str(n)}).record for n in range(4)]
    generations_log(records[:3])
    refresh_backlog_gauge()
    assert metrics.generation_log_backlog._value.get() == 3
    # A scrape measures it too (web processes have no flush task).
    generations_log(records[3:])
    text = make_client(workspace, "read").get("/metrics").content.decode()
    assert "generation_log_backlog 4.0" in text
    # The flush task (every 5 s from beat, on a worker) measures what it leaves.
    assert generations_flush_task() == 4
    assert metrics.generation_log_backlog._value.get() == 0


def test_the_heartbeat_task_records_when_a_worker_ran_it():
    before = time.time()
    heartbeat.apply()
    assert before <= metrics.worker_heartbeat_timestamp_seconds._value.get() <= time.time()


def test_the_generate_p95_target_is_exported_for_the_alert(client, db, settings):
    assert metrics.generate_p95_target_seconds._value.get() == settings.ALERT_GENERATE_P95_SECONDS
    assert "promptconfig_generate_p95_target_seconds " in client.get("/metrics").content.decode()
