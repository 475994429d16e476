"""The generation log through the Redis queue: off the request path, and nothing lost or counted twice."""

from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.test import override_settings

from generation.log import QUEUE_KEY, _decode, _key, _store, generations_flush
from generation.models import Generation
from generation.tasks import generations_flush_task
from promptconfig.common.cache import redis_connection as _redis
from templates_app.models import PromptTemplate
from templates_app.services import template_create

pytestmark = pytest.mark.redis
GEN = "/api/v1/prompts/generate"


@pytest.fixture
def queued(settings, workspace):
    settings.GENERATION_LOG_QUEUE = True
    _redis().delete(_key(QUEUE_KEY))
    template_create(workspace=workspace, actor="t", key="lesson", name="L", template="About {{ topic }}")
    yield
    _redis().delete(_key(QUEUE_KEY))


def queue_length() -> int:
    return _redis().llen(_key(QUEUE_KEY))


def usage() -> int:
    return PromptTemplate.objects.get(key="lesson").usage_count


def test_a_generation_is_queued_and_reading_it_flushes_it(queued, reader):
    prompt_id = reader.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json").json()[
        "prompt_id"
    ]
    assert Generation.objects.count() == 0 and queue_length() == 1
    response = reader.get(f"/api/v1/prompts/{prompt_id}")
    assert response.status_code == 200 and response.json()["generated_prompt"] == "About x"
    assert queue_length() == 0 and usage() == 1


def test_feedback_on_a_queued_prompt_works(queued, reader):
    prompt_id = reader.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json").json()[
        "prompt_id"
    ]
    response = reader.post(f"/api/v1/prompts/{prompt_id}/feedback", {"rating": 5}, format="json")
    assert response.status_code == 200 and response.json()["feedback"]["rating"] == 5


def test_the_beat_task_flushes_everything_in_batches(queued, reader):
    requests = [{"template_id": "lesson", "context": {"topic": str(index)}} for index in range(7)]
    reader.post(f"{GEN}/batch", {"requests": requests}, format="json")
    assert queue_length() == 7
    assert generations_flush(batch_size=3) == 7
    assert Generation.objects.count() == 7 and usage() == 7 and queue_length() == 0
    assert generations_flush_task.apply().get() == 0


def test_a_crash_between_commit_and_trim_neither_loses_nor_double_counts(queued, reader):
    reader.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json")
    raw = _redis().lrange(_key(QUEUE_KEY), 0, -1)
    _store([_decode(item) for item in raw])  # a flusher committed, then died before trimming the queue
    assert generations_flush() == 1
    assert Generation.objects.count() == 1 and usage() == 1


def test_with_the_queue_unreachable_records_are_stored_directly(queued, reader, settings):
    unreachable = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }
    with override_settings(CACHES=unreachable):
        response = reader.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json")
        assert response.status_code == 200
    assert Generation.objects.filter(pk=response.json()["prompt_id"]).exists()


def test_health_reports_the_backlog_and_degrades_when_no_worker_drains_it(queued, reader, client, settings):
    for topic in ("a", "b", "c"):
        reader.post(GEN, {"template_id": "lesson", "context": {"topic": topic}}, format="json")
    body = client.get("/health").json()
    assert body["generation_log"] == {"queued": 3, "max_backlog": settings.GENERATION_LOG_MAX_BACKLOG}
    assert body["status"] == "ok"
    settings.GENERATION_LOG_MAX_BACKLOG = 2
    response = client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "degraded"
    generations_flush()
    assert client.get("/health").json()["generation_log"]["queued"] == 0


def test_health_says_nothing_of_the_queue_when_it_is_off(db, client, settings):
    settings.GENERATION_LOG_QUEUE = False
    assert "generation_log" not in client.get("/health").json()


def test_a_flushed_batch_stores_every_field_as_a_direct_write_does(queued, reader, settings):
    """A batch is one COPY on PostgreSQL, a single record an INSERT: the rows must be the same."""
    body = {"template_id": "lesson", "user_id": "u1", "context": {"topic": 'é \\ \t "q"', "n": [1, {"a": None}]}}
    queued_ids = [reader.post(GEN, body, format="json").json()["prompt_id"] for _ in range(2)]
    assert generations_flush() == 2
    settings.GENERATION_LOG_QUEUE = False
    direct_id = reader.post(GEN, body, format="json").json()["prompt_id"]
    fields = [
        f.attname for f in Generation._meta.concrete_fields if f.attname not in ("id", "created_at", "expires_at")
    ]
    rows = {str(row.pop("id")): row for row in Generation.objects.values("id", *fields)}
    direct = rows.pop(direct_id)
    assert direct["context"] == body["context"] and direct["feedback_metrics"] == {} and direct["rating"] is None
    for prompt_id in queued_ids:
        stored = rows[prompt_id]
        assert stored == {**direct, "latency_ms": stored["latency_ms"], "cache_hit": stored["cache_hit"]}


@pytest.mark.parametrize(
    "context",
    [
        {"topic": 'é \\ \t "q" 😀', "f": 0.1, "deep": [1, {"a": None, "b": False}]},
        {"topic": "x", "n": 2**64},  # beyond 64 bits: written by the standard library's encoder instead
    ],
)
def test_a_queued_record_keeps_its_values_and_times_exactly(queued, reader, context):
    answer = reader.post(GEN, {"template_id": "lesson", "context": context}, format="json").json()
    assert generations_flush() == 1
    stored = Generation.objects.get(pk=answer["prompt_id"])
    assert stored.context == context and stored.variables["topic"] == context["topic"]
    assert stored.expires_at == datetime.fromisoformat(answer["expires_at"].replace("Z", "+00:00"))
    assert stored.expires_at - stored.created_at == timedelta(seconds=settings.PROMPT_CACHE_TTL)


def test_an_unknown_prompt_is_answered_at_once_when_nothing_is_queued(queued, reader, monkeypatch):
    """Waiting for another flusher only makes sense while one runs: a lookup of a made-up id used to hold the
    worker for half a second, so a read key could stall the service."""
    monkeypatch.setattr("generation.selectors.time.sleep", lambda seconds: pytest.fail("waited for nothing"))
    response = reader.get("/api/v1/prompts/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404


def test_a_lookup_waits_for_a_flush_that_another_process_is_running(queued, reader, monkeypatch):
    from generation.log import LOCK_KEY

    prompt_id = reader.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json").json()[
        "prompt_id"
    ]
    _redis().set(_key(LOCK_KEY), "1", ex=60)  # another process is flushing: this one may not
    waits = []

    def other_flusher_finishes(seconds):
        waits.append(seconds)
        _redis().delete(_key(LOCK_KEY))

    monkeypatch.setattr("generation.selectors.time.sleep", other_flusher_finishes)
    response = reader.get(f"/api/v1/prompts/{prompt_id}")
    assert response.status_code == 200 and waits == [0.1]
