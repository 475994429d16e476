"""Provider model versions: ensure-version and model-versions, stub and real probes, the hour guard,
concurrency, drift and metrics, on PostgreSQL and Redis."""

import hashlib
import logging
from datetime import timedelta

import pytest
from django.db import DatabaseError, connection
from django.utils import timezone

from promptconfig.common import metrics
from promptconfig.common.errors import ValidationFailed
from promptconfig.events.models import Event
from templates_app.models import TemplateVersion
from templates_app.services import template_create
from tests.support.api import answer
from tests.support.concurrency import all_at_once
from tests.support.fake_providers import FakeProviders
from tests.support.servers import free_port
from versions import probes
from versions.models import ProviderVersion
from versions.services import ensure_version, version_record

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

BODY = "Explain {{ topic }}."


def ensure(client, key="lesson", **body):
    return client.post(f"/api/v1/templates/{key}/ensure-version", body, format="json")


def attempts(provider: str) -> float:
    return metrics.prompter_probe_attempts_total.labels(**metrics.probe_labels(provider))._value.get()


def failures(provider: str) -> float:
    return metrics.prompter_probe_failures_total.labels(**metrics.probe_labels(provider))._value.get()


@pytest.fixture
def lesson(workspace):
    return template_create(
        workspace=workspace,
        actor="t",
        key="lesson",
        name="Lesson",
        template=BODY,
        model_config={"provider": "openai", "model": "gpt-4o", "params": {"temperature": 0.2}},
    )


@pytest.fixture
def fake(settings):
    server = FakeProviders()
    settings.PROBE_MODE = "http"
    settings.PROBE_TIMEOUT_SECONDS = 0.5
    settings.OPENAI_BASE_URL = settings.ANTHROPIC_BASE_URL = settings.GEMINI_BASE_URL = server.url
    settings.AZURE_OPENAI_ENDPOINT = server.url
    settings.OPENAI_API_KEY = "sk-test-openai"
    settings.AZURE_OPENAI_API_KEY = "azure-test-key"
    settings.ANTHROPIC_API_KEY = "sk-ant-test"
    settings.GEMINI_API_KEY = "gemini-test-key"
    yield server
    server.close()


def at(moment):
    """Control the clock the service reads (Django's timezone.now)."""
    return lambda: moment


# --- stub probes ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("provider", "model", "key"),
    [
        ("openai", "gpt-4o", "fp_stub_" + hashlib.sha256(b"openai:gpt-4o").hexdigest()[:8]),
        ("google", "gemini-1.5-pro", "gemini-1.5-pro-stub-001"),
        ("anthropic", "claude-3-5-sonnet", "claude-3-5-sonnet"),
        ("azure-openai", "gpt-4o", "fp_stub_azure_" + hashlib.sha256(b"azure:gpt-4o").hexdigest()[:8]),
        ("mistral", "large", "unknown"),
    ],
)
def test_stub_keys(writer, lesson, provider, model, key):
    response = ensure(writer, provider=provider, model_id=model)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["provider_version_key"] == key
    assert body["created"] is True and body["probed"] is True
    assert body["captured_at"] == body["first_seen_at"] == body["last_seen_at"]
    assert set(body) >= {"provider_version_key", "captured_at", "first_seen_at", "last_seen_at", "created", "probed"}


def test_the_model_comes_from_the_templates_model_config(writer, lesson, workspace):
    assert ensure(writer, provider="openai").json()["model_id"] == "gpt-4o"
    assert ensure(writer, provider="OpenAI").json()["probed"] is False  # providers are case-insensitive
    # Without model_id, the template's stored model_config decides: one naming no model for the provider is 409.
    response = ensure(writer, provider="anthropic")
    assert answer(response) == (409, "conflict") and "model_id" in response.json()["error"]["details"]
    template_create(workspace=workspace, actor="t", key="plain", name="Plain", template=BODY)
    assert answer(ensure(writer, "plain", provider="openai")) == (409, "conflict")


def test_errors_and_scopes(writer, reader, make_client, lesson):
    assert answer(ensure(writer, "nope", provider="openai", model_id="x")) == (404, "not_found")
    assert answer(ensure(writer, provider="bad provider!", model_id="x")) == (400, "validation_error")
    assert answer(ensure(writer, provider="openai", model_id="a/b")) == (400, "validation_error")
    assert answer(ensure(writer, model_id="x")) == (400, "validation_error")
    assert answer(ensure(reader, provider="openai")) == (403, "permission_denied")
    stranger = make_client(scope="admin")
    assert answer(ensure(stranger, provider="openai")) == (404, "not_found")
    assert answer(stranger.get("/api/v1/templates/lesson/model-versions")) == (404, "not_found")
    assert ProviderVersion.objects.count() == 0


# --- the hour guard ---------------------------------------------------------------------------------
def test_a_second_call_in_the_hour_does_not_probe_and_the_next_hour_does(writer, lesson, monkeypatch):
    start = timezone.now().replace(minute=5, second=0, microsecond=0)
    monkeypatch.setattr(timezone, "now", at(start))
    before = attempts("openai")
    first = ensure(writer, provider="openai").json()
    monkeypatch.setattr(timezone, "now", at(start + timedelta(minutes=50)))
    second = ensure(writer, provider="openai")
    assert second.status_code == 200
    assert second.json()["probed"] is False and second.json()["created"] is False
    assert second.json()["provider_version_key"] == first["provider_version_key"]
    assert attempts("openai") == before + 1
    monkeypatch.setattr(timezone, "now", at(start + timedelta(minutes=65)))
    third = ensure(writer, provider="openai").json()
    assert third["probed"] is True and third["created"] is False
    assert attempts("openai") == before + 2
    record = ProviderVersion.objects.get()
    assert record.seen_count == 2 and record.last_seen_at == start + timedelta(minutes=65)
    assert record.first_seen_at == start


def test_a_redis_outage_never_blocks_a_capture(writer, lesson, settings):
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",  # nothing listens there
            "OPTIONS": {**settings.CACHES["default"]["OPTIONS"], "SOCKET_CONNECT_TIMEOUT": 0.2},
        }
    }
    for _ in range(2):  # without the guard each call probes
        response = ensure(writer, provider="openai")
        assert response.status_code in (200, 201) and response.json()["probed"] is True
    assert ProviderVersion.objects.get().seen_count == 2


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_ensure_versions_leave_one_row_and_one_probe(workspace, settings):
    settings.PROBE_SLEEP_MS = 100  # the first probe is still running when the others arrive
    template = template_create(workspace=workspace, actor="t", key="lesson", name="L", template=BODY)
    template = type(template).objects.select_related("workspace").get(pk=template.pk)
    before = attempts("anthropic")
    results, errors = all_at_once(
        50, lambda _: ensure_version(template=template, provider="anthropic", model_id="claude-x")
    )
    assert errors == []
    assert ProviderVersion.objects.count() == 1
    assert sum(result.created for result in results) == 1 and sum(result.probed for result in results) == 1
    assert {result.record.provider_version_key for result in results} == {"claude-x"}
    assert attempts("anthropic") == before + 1


@pytest.mark.django_db(transaction=True)
def test_fifty_concurrent_upserts_of_one_key_leave_one_row(workspace):
    template = template_create(workspace=workspace, actor="t", key="lesson", name="L", template=BODY)
    template = type(template).objects.select_related("workspace").get(pk=template.pk)
    now = timezone.now()
    created, errors = all_at_once(
        50,
        lambda _: version_record(template=template, provider="openai", model_id="gpt-4o", version_key="fp_1", now=now)[
            1
        ],
    )
    assert errors == []
    assert ProviderVersion.objects.count() == 1 and sum(created) == 1
    assert ProviderVersion.objects.get().seen_count == 50


# --- real probes against the fake providers ---------------------------------------------------------
@pytest.mark.parametrize(
    ("provider", "model", "key", "auth_header", "auth_value"),
    [
        ("openai", "gpt-4o", "fp_live_0a1b2c3d", "authorization", "Bearer sk-test-openai"),
        ("azure-openai", "gpt4o-deploy", "fp_live_azure_9f8e7d6c", "api-key", "azure-test-key"),
        ("anthropic", "claude-3-5-sonnet-latest", "claude-3-5-sonnet-20241022", "x-api-key", "sk-ant-test"),
        ("google", "gemini-1.5-pro", "gemini-1.5-pro-002", "x-goog-api-key", "gemini-test-key"),
    ],
)
def test_real_probes(writer, lesson, fake, provider, model, key, auth_header, auth_value):
    response = ensure(writer, provider=provider, model_id=model)
    assert response.status_code == 201, response.content
    assert response.json()["provider_version_key"] == key
    (request,) = fake.requests
    assert request.provider == provider and request.headers[auth_header] == auth_value
    if provider in ("openai", "anthropic"):
        assert request.body["model"] == model
    if provider == "google":
        assert request.path == f"/v1beta/models/{model}:generateContent"
        assert request.body["generationConfig"]["maxOutputTokens"] == 1
    elif provider == "azure-openai":
        assert request.path == f"/openai/deployments/{model}/chat/completions"
        assert request.query["api-version"] == ["2024-10-21"]
        assert request.body["max_tokens"] == 1
    else:
        assert request.body["max_tokens"] == 1


@pytest.mark.parametrize("provider", ["openai", "azure-openai", "anthropic", "google"])
@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("error", (502, "bad_gateway")),
        ("garbage", (502, "bad_gateway")),
        ("deep", (502, "bad_gateway")),  # JSON nested deeper than the parser goes (RecursionError): not a 500
        ("slow", (504, "gateway_timeout")),
    ],
)
def test_a_failed_probe_is_counted_and_answered_cleanly(writer, lesson, fake, provider, mode, expected):
    fake.mode = mode
    before = failures(provider)
    response = ensure(writer, provider=provider, model_id="m-1")
    assert answer(response) == expected
    assert set(response.json()["error"]["details"]) <= {"provider", "status"}  # never the upstream answer
    assert failures(provider) == before + 1
    assert ProviderVersion.objects.count() == 0
    fake.mode = "ok"  # the failure freed the hour: the next call probes again
    assert ensure(writer, provider=provider, model_id="m-1").json()["probed"] is True


def test_a_missing_api_key_is_a_clean_502(writer, lesson, fake, settings):
    settings.OPENAI_API_KEY = ""
    response = ensure(writer, provider="openai")
    assert answer(response) == (502, "bad_gateway") and "OPENAI_API_KEY" in response.json()["error"]["message"]
    assert fake.requests == []


# --- drift ------------------------------------------------------------------------------------------
def test_a_new_key_is_drift_in_the_history_the_drift_endpoint_and_the_metric(reader, writer, lesson, fake, monkeypatch):
    start = timezone.now().replace(minute=1, second=0, microsecond=0)
    monkeypatch.setattr(timezone, "now", at(start))
    ensure(writer, provider="openai")
    drift_before = metrics.prompter_model_drift_total.labels(**metrics.probe_labels("openai"))._value.get()
    assert reader.get("/api/v1/templates/lesson/drift").json()["provider"] == []

    fake.keys["openai"] = "fp_live_NEW"
    monkeypatch.setattr(timezone, "now", at(start + timedelta(hours=1)))
    changed = ensure(writer, provider="openai").json()
    assert changed["created"] is True and changed["provider_version_key"] == "fp_live_NEW"
    assert metrics.prompter_model_drift_total.labels(**metrics.probe_labels("openai"))._value.get() == drift_before + 1

    event = Event.objects.get(subject_pk=lesson.pk, type="model_version.drift")
    assert event.data == {
        "language": "en",
        "version": 1,
        "provider": "openai",
        "model_id": "gpt-4o",
        "from": "fp_live_0a1b2c3d",
        "to": "fp_live_NEW",
    }
    assert (event.subject_kind, event.subject_id, event.actor) == ("template", "lesson", "system:probe")
    history = reader.get("/api/v1/templates/lesson/history").json()
    assert any(item["event"] == "model_drift" for item in history.get("results", history))
    (drift,) = reader.get("/api/v1/templates/lesson/drift").json()["provider"]
    assert drift["current_key"] == "fp_live_NEW" and drift["previous_keys"] == ["fp_live_0a1b2c3d"]
    listed = reader.get("/api/v1/templates/lesson/model-versions").json()
    assert [v["provider_version_key"] for v in listed["results"]] == ["fp_live_NEW", "fp_live_0a1b2c3d"]
    assert listed["count"] == 2 and listed["drift"] == [drift]

    fake.keys["openai"] = "fp_live_0a1b2c3d"  # back to a key seen before: no new drift event
    monkeypatch.setattr(timezone, "now", at(start + timedelta(hours=2)))
    assert ensure(writer, provider="openai").json()["created"] is False
    assert Event.objects.filter(type="model_version.drift").count() == 1


# --- metrics ----------------------------------------------------------------------------------------
def test_the_metrics_text(writer, client, lesson, fake, settings):
    """The probe metrics carry the deployment's `service` and `env` (METRICS_SERVICE, METRICS_ENV)."""
    settings.METRICS_SERVICE, settings.METRICS_ENV = "prompts-eu", "staging"
    ensure(writer, provider="openai")
    fake.mode = "error"
    ensure(writer, provider="anthropic", model_id="claude-x")
    text = client.get("/metrics").content.decode()
    assert 'prompter_probe_attempts_total{env="staging",provider="openai",service="prompts-eu"}' in text
    assert 'prompter_probe_failures_total{env="staging",provider="anthropic",service="prompts-eu"}' in text
    bucket = 'prompter_ensure_version_seconds_bucket{env="staging",le="0.005",provider="openai",service="prompts-eu"}'
    assert bucket in text
    assert "prompter_ensure_version_seconds_count" in text


def test_the_probe_metrics_have_a_bounded_label_set(writer, client, lesson, settings):
    """Model ids (and provider names) are free-form: a thousand of them must not make a thousand series."""
    settings.PROBE_MODE = "stub"
    for n in range(3):
        assert ensure(writer, provider=f"vendor{n}", model_id=f"free-form-model-{n}").status_code == 201
    text = client.get("/metrics").content.decode()
    lines = [line for line in text.splitlines() if line.startswith("prompter_")]
    assert lines and not [line for line in lines if "model=" in line]
    assert not [line for line in lines if "free-form-model" in line or "vendor" in line]
    assert 'prompter_probe_attempts_total{env="production",provider="other",service="promptconfig"}' in text


# --- probes: a value is one path segment; the upstream answer is logged, never returned --------------
@pytest.mark.parametrize(
    ("model", "path"),
    [
        ("../../../internal/steal?x=", "/openai/deployments/..%2F..%2F..%2Finternal%2Fsteal%3Fx%3D/chat/completions"),
        ("dep#frag", "/openai/deployments/dep%23frag/chat/completions"),
        ("a b%2F", "/openai/deployments/a%20b%252F/chat/completions"),
    ],
)
def test_the_azure_deployment_is_one_percent_encoded_path_segment(fake, model, path):
    """The probe itself (whatever a caller gives it) keeps the value inside its path segment."""
    assert probes.azure_openai_probe(model) == "fp_live_azure_9f8e7d6c"
    (request,) = fake.requests
    assert (request.provider, request.path) == ("azure-openai", path)
    assert request.query == {"api-version": ["2024-10-21"]}


def test_the_gemini_model_is_one_percent_encoded_path_segment(fake):
    assert probes.google_probe("../../v1/steal?key=") == "gemini-1.5-pro-002"
    (request,) = fake.requests
    assert (request.provider, request.path) == (
        "google",
        "/v1beta/models/..%2F..%2Fv1%2Fsteal%3Fkey%3D:generateContent",
    )


@pytest.mark.parametrize(
    ("provider", "model", "path"),
    [
        ("google", "gemini-1.5-pro@001", "/v1beta/models/gemini-1.5-pro%40001:generateContent"),
        ("azure-openai", "ft:gpt-4o:acme", "/openai/deployments/ft%3Agpt-4o%3Aacme/chat/completions"),
    ],
)
def test_valid_model_ids_are_percent_encoded_in_the_path_too(writer, lesson, fake, provider, model, path):
    assert ensure(writer, provider=provider, model_id=model).status_code == 201
    (request,) = fake.requests
    assert request.path == path


@pytest.mark.parametrize(
    ("provider", "header", "secret"),
    [
        ("openai", "authorization", "sk-test-openai"),
        ("azure-openai", "api-key", "azure-test-key"),
        ("anthropic", "x-api-key", "sk-ant-test"),
        ("google", "x-goog-api-key", "gemini-test-key"),
    ],
)
def test_the_upstream_answer_is_logged_redacted_and_never_returned(
    writer, lesson, fake, caplog, provider, header, secret
):
    fake.mode = "leaky"  # a 401 that echoes the request's headers and the key back
    with caplog.at_level(logging.WARNING, logger="promptconfig.versions"):
        response = ensure(writer, provider=provider, model_id="m-1")
    assert answer(response) == (502, "bad_gateway")
    assert response.json()["error"]["details"] == {"provider": provider, "status": 401}
    assert secret.encode() not in response.content and b"request_headers" not in response.content
    (logged,) = [r.getMessage() for r in caplog.records if f"probe: {provider} answered 401" in r.getMessage()]
    assert "request_headers" in logged and f"'{header}': [REDACTED]" in logged.replace('\\"', "'").replace('"', "'")
    assert "Incorrect API key provided: [REDACTED]" in logged
    assert secret not in "".join(r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("text", "redacted"),
    [
        ('{"authorization": "Bearer abc.def-123"}', '{"authorization": [REDACTED]}'),
        ("Authorization: Bearer abcdefghij\r\nHost: x", "Authorization: [REDACTED]\r\nHost: x"),
        ("GET /v1?key=AIzaSyA1234567890abcdefghij&alt=json", "GET /v1?key=[REDACTED]&alt=json"),
        ("token=t0k3n; client_secret: 's3cr3t'", "token=[REDACTED]; client_secret: [REDACTED]"),
        ("bad key sk-proj-AbC_123-xyz here", "bad key [REDACTED] here"),
        ('{"error": {"message": "Overloaded", "type": "overloaded_error"}}', None),  # nothing secret: kept
    ],
)
def test_redaction(text, redacted):
    assert probes.redact(text) == (text if redacted is None else redacted)


def test_an_httpx_invalid_url_is_a_502_and_frees_the_hour(writer, lesson, fake, settings, monkeypatch):
    monkeypatch.setattr(timezone, "now", at(timezone.now().replace(minute=10)))
    settings.OPENAI_BASE_URL = "http://127.0.0.1:not-a-port"  # httpx.InvalidURL: not an httpx.HTTPError
    before = failures("openai")
    response = ensure(writer, provider="openai")
    assert answer(response) == (502, "bad_gateway")
    assert response.json()["error"]["details"] == {"provider": "openai"}
    assert failures("openai") == before + 1
    settings.OPENAI_BASE_URL = fake.url
    again = ensure(writer, provider="openai")  # the same hour: it probes again instead of a 504
    assert again.status_code == 201 and again.json()["probed"] is True


def test_a_key_the_database_cannot_store_is_a_502_and_frees_the_hour(writer, lesson, fake, monkeypatch):
    monkeypatch.setattr(timezone, "now", at(timezone.now().replace(minute=10)))
    fake.keys["openai"] = "fp_\u0000_nul"  # PostgreSQL text cannot hold NUL
    assert answer(ensure(writer, provider="openai")) == (502, "bad_gateway")
    fake.keys["openai"] = "fp_live_ok"
    again = ensure(writer, provider="openai")
    assert again.status_code == 201 and again.json()["provider_version_key"] == "fp_live_ok"


# --- a stored model_config is checked too; any failure frees the hour --------------------------------
def store_model_config(template, config: dict) -> None:
    """Write a model_config straight to the served version, as a row saved before it was validated."""
    TemplateVersion.objects.filter(pk=template.served_version_id).update(model_config=config)


@pytest.mark.parametrize("provider", ["azure-openai", "google"])
def test_a_stored_model_cannot_send_the_api_key_to_another_path(writer, lesson, fake, provider):
    store_model_config(lesson, {"provider": provider, "model": "../../../internal/steal?x=", "params": {}})
    response = ensure(writer, provider=provider)
    assert answer(response) == (409, "conflict")  # the stored model_config is at fault, not the request
    assert "model_config" in response.json()["error"]["details"]
    assert fake.requests == []  # nothing was sent anywhere, least of all the key to /internal/steal
    assert b"test-key" not in response.content and b"sk-" not in response.content


@pytest.mark.parametrize(
    ("provider", "model"),
    [("azure-openai", "dep\r\nX-Injected: 1"), ("anthropic", "c" * 300), ("openai", "gpt-4o\n")],
)
def test_a_stored_unusable_model_is_a_409_every_time_never_a_500_or_504(writer, lesson, fake, provider, model):
    store_model_config(lesson, {"provider": provider, "model": model, "params": {}})
    for _ in range(2):  # the same hour: before the fix a 500, then 504s for the rest of the hour
        response = ensure(writer, provider=provider)
        assert answer(response) == (409, "conflict")
        assert "model_config" in response.json()["error"]["details"]
    assert fake.requests == [] and ProviderVersion.objects.count() == 0


def test_the_service_refuses_an_unusable_model_from_any_caller(lesson, fake):
    """The hourly task calls the service with the stored model: the same rule applies there."""
    template = type(lesson).objects.select_related("workspace", "served_version").get(pk=lesson.pk)
    for model in ("dep\r\nX: 1", "m" * 300, "../x"):
        with pytest.raises(ValidationFailed):
            ensure_version(template=template, provider="azure-openai", model_id=model)
    assert fake.requests == []


def test_any_failure_after_the_probe_frees_the_hour(writer, lesson, fake, monkeypatch):
    """An unexpected error (here the database refusing the write) is a 500, but the guard is released in a
    `finally`: the next call in the same hour probes again rather than waiting for a 504."""
    monkeypatch.setattr(timezone, "now", at(timezone.now().replace(minute=10)))

    def refuse_the_insert(execute, sql, params, many, context):
        if sql.startswith(f'INSERT INTO "{ProviderVersion._meta.db_table}"'):
            raise DatabaseError("disk full")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse_the_insert):
        assert answer(ensure(writer, provider="openai")) == (500, "server_error")
    again = ensure(writer, provider="openai")
    assert again.status_code == 201 and again.json()["probed"] is True
    assert len(fake.requests) == 2 and ProviderVersion.objects.count() == 1


# --- model-versions is paginated ---------------------------------------------------------------------
def test_model_versions_is_paginated_with_the_drift_beside_the_page(reader, lesson):
    start = timezone.now() - timedelta(days=1)
    for n in range(5):  # five keys for one model: four drifts
        version_record(
            template=lesson, provider="openai", model_id="gpt-4o", version_key=f"fp_{n}", now=start + timedelta(hours=n)
        )
    version_record(template=lesson, provider="anthropic", model_id="claude", version_key="claude", now=start)
    url = "/api/v1/templates/lesson/model-versions"

    first = reader.get(f"{url}?page_size=2").json()
    assert set(first) == {"count", "next", "previous", "results", "template_id", "drift"}
    assert first["count"] == 6 and first["previous"] is None and "page=2" in first["next"]
    assert first["template_id"] == "lesson"
    assert [v["provider_version_key"] for v in first["results"]] == ["claude", "fp_4"]
    (drift,) = first["drift"]  # the whole template's drift, whatever the page
    assert drift["current_key"] == "fp_4" and drift["previous_keys"] == ["fp_0", "fp_1", "fp_2", "fp_3"]

    last = reader.get(f"{url}?page_size=2&page=3").json()
    assert [v["provider_version_key"] for v in last["results"]] == ["fp_1", "fp_0"]
    assert last["next"] is None and last["drift"] == [drift]
    keys = [
        v["provider_version_key"]
        for page in (1, 2, 3)
        for v in reader.get(f"{url}?page_size=2&page={page}").json()["results"]
    ]
    assert sorted(keys) == ["claude", "fp_0", "fp_1", "fp_2", "fp_3", "fp_4"]
    assert len(reader.get(url).json()["results"]) == 6  # the default page size (50)
    assert answer(reader.get(f"{url}?page=9")) == (404, "not_found")
