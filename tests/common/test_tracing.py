"""OpenTelemetry tracing with the SDK's in-memory exporter: one trace from an API call through the task it
enqueues (a real worker consuming from the Redis broker), the trace id in log lines and generation records;
and nothing at all with tracing off."""

import json
import logging
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from abtests.services import ab_test_create
from generation.models import Generation
from promptconfig.celery import app as celery_app
from promptconfig.common import tracing
from promptconfig.common.logging import JsonFormatter, RequestIdFilter
from templates_app.services import template_create


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    assert tracing.configure(exporter=exporter)
    try:
        yield exporter
    finally:
        tracing.unconfigure()


def log_line(message: str) -> dict:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, message, None, None)
    RequestIdFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_tracing_is_off_without_an_endpoint_and_adds_nothing(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert tracing.configure() is False
    assert tracing.trace_id is tracing._no_trace_id
    assert not [name for name in settings.MIDDLEWARE if "opentelemetry" in name]
    assert log_line("hello")["trace_id"] is None


@pytest.mark.redis
@pytest.mark.broker
def test_one_trace_from_the_api_call_through_the_task_it_enqueues(spans, make_client, workspace, transactional_db):
    template_create(workspace=workspace, actor="t", key="a", name="A", template="A {{ topic }}.")
    template_create(workspace=workspace, actor="t", key="b", name="B", template="B {{ topic }}.")
    test = ab_test_create(
        workspace=workspace, actor="t", name="A vs B", template_a="a", template_b="b", target_metrics=["score"]
    )
    client = make_client(workspace, "write")
    celery_app.control.purge()  # this run's broker: nothing but the task enqueued here
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=10, loglevel="WARNING"):
        response = client.post(f"/api/v1/ab-tests/{test.pk}/analyze", format="json")
        assert response.status_code == 202, response.content
        for _ in range(100):  # the worker thread runs the task within 10 s
            if any(span.kind == SpanKind.CONSUMER for span in spans.get_finished_spans()):
                break
            time.sleep(0.1)
    finished = spans.get_finished_spans()
    (server,) = [span for span in finished if span.kind == SpanKind.SERVER and "analyze" in span.name]
    (publish,) = [span for span in finished if span.kind == SpanKind.PRODUCER]
    (run,) = [span for span in finished if span.kind == SpanKind.CONSUMER]
    assert run.name == "run/abtests.tasks.ab_test_analyze_task"
    trace = server.context.trace_id
    # The task ran in the worker under the API call's trace: the message carried the context.
    assert publish.context.trace_id == trace and publish.parent.span_id != 0
    assert run.context.trace_id == trace and run.parent.span_id == publish.context.span_id
    # Database and Redis calls are spans of the same trace, on both sides.
    assert [
        span for span in finished if span.context.trace_id == trace and span.attributes.get("db.system") == "postgresql"
    ]
    assert [span for span in finished if span.context.trace_id == trace and span.attributes.get("db.system") == "redis"]


def test_the_trace_id_is_in_log_lines_and_generation_records(spans, make_client, workspace, settings):
    settings.GENERATION_LOG_QUEUE = False
    template_create(workspace=workspace, actor="t", key="hello", name="H", template="Hello {{ name }}.")
    client = make_client(workspace, "read")
    response = client.post(
        "/api/v1/prompts/generate", {"template_id": "hello", "context": {"name": "x"}}, format="json"
    )
    assert response.status_code == 200, response.content
    (server,) = [span for span in spans.get_finished_spans() if span.kind == SpanKind.SERVER]
    trace = format(server.context.trace_id, "032x")
    assert Generation.objects.get(pk=response.json()["prompt_id"]).trace_id == trace

    from opentelemetry import trace as api

    with api.get_tracer("test").start_as_current_span("work") as span:
        assert log_line("inside")["trace_id"] == format(span.get_span_context().trace_id, "032x")
    assert log_line("outside")["trace_id"] is None
