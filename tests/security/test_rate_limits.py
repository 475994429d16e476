"""Per-key rate limits: 429 rate_limited with Retry-After per class of call (runtime, write, expensive), slow
calls weighing like expensive ones, other keys unaffected, no extra Redis round trip on the hot path, and the
embedded default (local-memory cache) limiting too."""

import time

import pytest
import redis.connection

from templates_app.services import template_create
from tests.support.api import answer

GEN = "/api/v1/prompts/generate"


@pytest.fixture
def lesson(workspace):
    return template_create(workspace=workspace, actor="t", key="lesson", name="L", template="About {{ topic }}.")


def generate(client):
    return client.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json")


def limits(settings, **rates):
    settings.RATE_LIMITS = {"runtime": "", "write": "", "expensive": "", **rates}


def test_runtime_calls_past_the_limit_are_429_with_retry_after(settings, make_client, workspace, lesson):
    limits(settings, runtime="3/min")
    client, other = make_client(workspace, "read"), make_client(workspace, "read")
    assert [generate(client).status_code for _ in range(3)] == [200] * 3
    refused = generate(client)
    assert answer(refused) == (429, "rate_limited")
    assert 1 <= int(refused["Retry-After"]) <= 60
    assert client.get("/api/v1/templates").status_code == 429  # reads share the runtime window
    assert generate(other).status_code == 200  # per key


def test_writes_and_expensive_calls_have_their_own_windows(settings, make_client, workspace, lesson):
    limits(settings, write="2/min", expensive="1/min")
    writer = make_client(workspace, "write")
    for index in range(2):
        assert writer.post("/api/v1/profiles", {"user_id": f"u{index}"}, format="json").status_code == 201
    assert answer(writer.post("/api/v1/profiles", {"user_id": "u9"}, format="json")) == (429, "rate_limited")
    assert writer.get("/api/v1/profiles").status_code == 200  # runtime: unlimited here
    batch = {"requests": [{"template_id": "lesson", "context": {"topic": "x"}}]}
    assert writer.post(f"{GEN}/batch", batch, format="json").status_code == 200
    assert answer(writer.post(f"{GEN}/batch", batch, format="json")) == (429, "rate_limited")
    assert answer(
        writer.post("/api/v1/prompt-data/batch", {"requests": [{"template_id": "lesson"}]}, format="json")
    ) == (
        429,
        "rate_limited",
    )
    assert generate(writer).status_code == 200  # a single generate is a runtime call


def test_a_slow_call_puts_its_key_in_the_penalty_box(settings, make_client, workspace, lesson):
    limits(settings, runtime="1000/min")
    settings.RATE_LIMIT_SLOW_MS, settings.RATE_LIMIT_SLOW_PENALTY = 0, 1000  # every call is "slow"
    client, other = make_client(workspace, "read"), make_client(workspace, "read")
    assert generate(client).status_code == 200
    refused = generate(client)
    assert answer(refused) == (429, "rate_limited") and int(refused["Retry-After"]) >= 1
    assert client.get("/api/v1/templates").status_code == 429  # every call of the key, while it lasts
    assert generate(other).status_code == 200  # the others are not penalised


def test_the_penalty_is_as_long_as_the_slow_call_times_the_factor(settings, make_client, workspace, lesson):
    limits(settings, runtime="1000/min")
    settings.RATE_LIMIT_SLOW_MS, settings.RATE_LIMIT_SLOW_PENALTY = 0, 1
    client = make_client(workspace, "read")
    assert generate(client).status_code == 200
    time.sleep(0.5)  # longer than the call took
    assert generate(client).status_code == 200


def test_the_embedded_default_limits_too(settings, make_client, workspace, lesson):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl"}}
    limits(settings, runtime="2/min")
    client = make_client(workspace, "read")
    assert [generate(client).status_code for _ in range(3)] == [200, 200, 429]


@pytest.mark.redis
def test_counting_adds_no_redis_round_trip_to_a_warm_request(settings, make_client, workspace, lesson, monkeypatch):
    client = make_client(workspace, "read")
    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(1)
        return original(self, command, check_health)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)

    def round_trips(body) -> int:
        client.post("/api/v1/prompt-data", body, format="json")  # warm
        sent.clear()
        assert client.post("/api/v1/prompt-data", body, format="json").status_code == 200
        return len(sent)

    limits(settings)  # no limits: nothing counted
    unlimited = round_trips({"template_id": "lesson"})
    limits(settings, runtime="1000/min")
    limited = round_trips({"template_id": "lesson", "user_id": "u2"})
    assert limited == unlimited == 1


def test_calls_slow_by_nature_never_put_a_key_in_the_box(settings, make_client, workspace, lesson):
    limits(settings, runtime="1000/min", write="1000/min")
    settings.RATE_LIMIT_SLOW_MS, settings.RATE_LIMIT_SLOW_PENALTY = 0, 1000  # every call is "slow"
    client = make_client(workspace, "write")
    for _ in range(3):  # reads, writes and analytics are not renders of the caller's templates
        assert client.get("/api/v1/templates").status_code == 200
        assert client.get("/api/v1/analytics/summary").status_code == 200
        assert client.post(
            "/api/v1/templates/lesson/ensure-version", {"provider": "openai", "model_id": "m"}, format="json"
        ).status_code in (200, 201)
