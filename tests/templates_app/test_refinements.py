"""LLM refinements against a local fake OpenAI-compatible server: outcomes, proposal checks, apply."""

import json
import logging

import pytest

from promptconfig.celery import app as celery_app
from promptconfig.common import llm
from promptconfig.common.errors import ApiError
from promptconfig.events.models import Event
from templates_app.models import Refinement
from tests.support.api import answer
from tests.support.fake_llm import FakeLLM

T = "/api/v1/templates"
BODY = "Explain {{ topic }} to a {{ difficulty }} student. Answer in three short paragraphs."
SECRET = "sk-test-very-secret-key-0123456789"

pytestmark = pytest.mark.usefixtures("eager_tasks")  # tasks run in the request, as without a broker


@pytest.fixture
def fake(settings):
    server = FakeLLM()
    settings.LLM_BASE_URL = server.url
    settings.LLM_API_KEY = SECRET
    settings.LLM_MODEL = "fake-model"
    settings.LLM_TIMEOUT = 0.5
    yield server
    server.close()


@pytest.fixture
def lesson(writer):
    response = writer.post(T, {"key": "lesson", "name": "Lesson", "template": BODY}, format="json")
    assert response.status_code == 201, response.content
    return "lesson"


def refine(writer, capture, key="lesson", **body) -> dict:
    with capture(execute=True):
        response = writer.post(f"{T}/{key}/refinements", {"goal": "shorter", **body}, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    detail = writer.get(f"{T}/{key}/refinements/{response.json()['id']}")
    assert detail.status_code == 200, detail.content
    return detail.json()


def test_without_an_endpoint_refinements_answer_503_naming_the_settings(writer, lesson, settings):
    settings.LLM_BASE_URL = ""
    response = writer.post(f"{T}/lesson/refinements", {"goal": "shorter"}, format="json")
    assert answer(response) == (503, "service_unavailable")
    assert "LLM_BASE_URL" in response.json()["error"]["message"]
    assert writer.get(f"{T}/lesson").status_code == 200  # the rest is unaffected
    assert not Refinement.objects.exists()


def test_a_refinement_sends_body_variables_suggestions_and_goal_and_stores_the_checked_proposal(
    writer, lesson, fake, django_capture_on_commit_callbacks
):
    proposal = "Explain {{ topic }} briefly to a {{ difficulty }} student, in two short paragraphs."
    fake.answer_json(proposal, "Cut it to two paragraphs.")
    body = refine(writer, django_capture_on_commit_callbacks, goal="shorter, for beginners")
    assert body["status"] == "succeeded" and body["error"] == ""
    assert body["proposed_template"] == proposal and body["rationale"] == "Cut it to two paragraphs."
    assert body["version"] == 1 and body["model"] == "fake-model" and body["applied_version"] is None
    assert body["tokens"] == {"prompt": 120, "completion": 45, "total": 165}
    assert isinstance(body["latency_ms"], int) and body["latency_ms"] >= 0
    assert body["diff"].startswith("--- v1\n+++ proposal\n") and "+Explain {{ topic }} briefly" in body["diff"]
    (sent,) = fake.requests
    assert sent["headers"]["Authorization"] == f"Bearer {SECRET}"
    assert sent["body"]["model"] == "fake-model" and sent["body"]["response_format"] == {"type": "json_object"}
    asked = json.loads(sent["body"]["messages"][-1]["content"])
    assert asked["goal"] == "shorter, for beginners" and asked["template"] == BODY
    assert asked["variables"] == ["difficulty", "topic"]
    assert any("topic" in item["message"] for item in asked["review_suggestions"])
    listed = writer.get(f"{T}/lesson/refinements").json()
    assert [item["id"] for item in listed["results"]] == [body["id"]]
    assert SECRET not in json.dumps(listed)


@pytest.mark.parametrize(
    ("mode", "status", "expected"),
    [
        ("malformed", 200, "bad_gateway: The LLM endpoint answered something that is not a chat completion."),
        ("error", 429, "bad_gateway: The LLM endpoint answered 429."),
        ("error", 500, "bad_gateway: The LLM endpoint answered 500."),
        ("hang", 200, "gateway_timeout: The LLM endpoint did not answer within 0.5 s."),
    ],
)
def test_upstream_failures_are_failed_refinements_with_the_reason(
    writer, lesson, fake, django_capture_on_commit_callbacks, caplog, mode, status, expected
):
    fake.mode, fake.error_status, fake.delay = mode, status, 2.0
    with caplog.at_level(logging.WARNING):
        body = refine(writer, django_capture_on_commit_callbacks)
    assert body["status"] == "failed" and body["error"] == expected
    assert body["proposed_template"] == "" and body["diff"] == ""
    assert SECRET not in caplog.text and SECRET not in json.dumps(body)


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        ("not json at all", "The model's answer is not JSON."),
        (json.dumps({"rationale": "no template"}), 'The model\'s answer has no "template" string.'),
        (json.dumps({"template": "Explain {{ topic } to {{ difficulty }}"}), "The proposal is not a valid template"),
        (
            json.dumps({"template": "{{ topic.__class__.__mro__ }} {{ difficulty }}"}),
            "The proposal tries to reach '__",
        ),
        (
            json.dumps({"template": "{{ topic['__globals__'] }} {{ difficulty }}"}),
            "The proposal tries to reach '__globals__'",
        ),
        (json.dumps({"template": "Explain {{ topic }} simply."}), "The proposal drops the variables difficulty"),
        (
            json.dumps({"template": "Explain {{ topic }} to {{ difficulty }} in {{ tone }}."}),
            "The proposal adds the variables tone",
        ),
        (json.dumps({"template": "{% include 'missing' %} {{ topic }} {{ difficulty }}"}), "does not exist"),
    ],
)
def test_a_proposal_that_fails_the_checks_is_a_failed_refinement_never_a_stored_body(
    writer, lesson, fake, django_capture_on_commit_callbacks, reply, reason
):
    fake.mode, fake.reply = "ok", reply
    body = refine(writer, django_capture_on_commit_callbacks)
    assert body["status"] == "failed" and reason in body["error"], body["error"]
    assert body["proposed_template"] == "" and body["tokens"]["total"] == 165
    apply = writer.post(f"{T}/lesson/refinements/{body['id']}/apply", {}, format="json")
    assert answer(apply) == (409, "conflict")
    assert writer.get(f"{T}/lesson").json()["latest_version"] == 1


def test_a_goal_that_names_a_variable_may_drop_it(writer, lesson, fake, django_capture_on_commit_callbacks):
    fake.answer_json("Explain {{ topic }} simply.")
    body = refine(writer, django_capture_on_commit_callbacks, goal="drop the difficulty variable")
    assert body["status"] == "succeeded", body["error"]


def test_apply_makes_an_unpublished_version_linked_to_the_refinement(
    writer, lesson, fake, django_capture_on_commit_callbacks
):
    proposal = "Explain {{ topic }} to a {{ difficulty }} student in two sentences."
    fake.answer_json(proposal)
    refinement = refine(writer, django_capture_on_commit_callbacks)
    url = f"{T}/lesson/refinements/{refinement['id']}/apply"
    applied = writer.post(url, {}, format="json")
    assert applied.status_code == 200, applied.content
    assert applied.json()["applied_version"] == 2
    template = writer.get(f"{T}/lesson").json()
    assert template["version"] == 1 and template["latest_version"] == 2 and template["template"] == BODY
    version = writer.get(f"{T}/lesson/versions/2").json()
    assert version["template"] == proposal
    assert f"Refinement #{refinement['id']} of v1: shorter" in version["change_note"]
    event = Event.objects.filter(type="template.version_created", data__version=2).get()
    assert f"Refinement #{refinement['id']}" in event.data["change_note"]
    assert answer(writer.post(url, {}, format="json")) == (409, "conflict")  # once only


def test_apply_with_publish_serves_the_proposal(writer, lesson, fake, django_capture_on_commit_callbacks):
    fake.answer_json("Explain {{ topic }} to a {{ difficulty }} student, kindly.")
    refinement = refine(writer, django_capture_on_commit_callbacks)
    response = writer.post(f"{T}/lesson/refinements/{refinement['id']}/apply", {"publish": True}, format="json")
    assert response.status_code == 200, response.content
    assert writer.get(f"{T}/lesson").json()["version"] == 2


def test_scope_validation_and_workspaces(writer, reader, make_client, lesson, fake, django_capture_on_commit_callbacks):
    assert answer(reader.post(f"{T}/lesson/refinements", {"goal": "x"}, format="json")) == (403, "permission_denied")
    assert answer(reader.get(f"{T}/lesson/refinements")) == (403, "permission_denied")
    for bad in ({}, {"goal": ""}, {"goal": "x", "tone": 1}, {"goal": "x", "version": 0}, {"goal": "x", "model": "a b"}):
        assert answer(writer.post(f"{T}/lesson/refinements", bad, format="json")) == (400, "validation_error"), bad
    assert answer(writer.post(f"{T}/lesson/refinements", {"goal": "x", "version": 9}, format="json")) == (
        404,
        "not_found",
    )
    assert answer(writer.post(f"{T}/nope/refinements", {"goal": "x"}, format="json")) == (404, "not_found")
    fake.answer_json("Explain {{ topic }} to a {{ difficulty }} student.")
    refinement = refine(writer, django_capture_on_commit_callbacks)
    stranger = make_client(scope="write")
    assert answer(stranger.get(f"{T}/lesson/refinements/{refinement['id']}")) == (404, "not_found")
    assert answer(writer.get(f"{T}/lesson/refinements/999999")) == (404, "not_found")
    apply = writer.post(f"{T}/lesson/refinements/{refinement['id']}/apply", {"publish": "yes"}, format="json")
    assert answer(apply) == (400, "validation_error")


# --- the client itself (used by the playground synchronously) ------------------------------------------
def test_the_client_maps_upstream_errors_to_502_and_timeouts_to_504(fake, settings):
    messages = [{"role": "user", "content": "hi"}]
    completion = llm.chat(messages, params={"temperature": 0.2})
    assert completion.text == "Hello from the fake model." and completion.tokens["total"] == 165
    assert fake.requests[-1]["body"]["temperature"] == 0.2 and "response_format" not in fake.requests[-1]["body"]
    for mode, status in (("error", 502), ("malformed", 502), ("hang", 504)):
        fake.mode = mode
        with pytest.raises(ApiError) as raised:
            llm.chat(messages)
        assert raised.value.status_code == status and SECRET not in raised.value.message
    settings.LLM_BASE_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    with pytest.raises(llm.LLMFailed):
        llm.chat(messages)
    settings.LLM_BASE_URL = ""
    with pytest.raises(llm.LLMNotConfigured):
        llm.chat(messages)


def test_sampling_parameters_are_checked():
    assert llm.params_error({"temperature": 0.7, "max_tokens": 100}) is None
    assert "Unknown" in llm.params_error({"temprature": 1})
    assert "between" in llm.params_error({"temperature": 3})
    assert "integer" in llm.params_error({"max_tokens": 1.5})
    assert llm.params_error([]) == "Must be an object."


def test_refinements_are_listed_read_only_in_the_admin(
    admin_client, writer, lesson, fake, django_capture_on_commit_callbacks
):
    fake.answer_json("Explain {{ topic }} to a {{ difficulty }} student in one line.")
    refinement = refine(writer, django_capture_on_commit_callbacks, model="other-model", version=1)
    assert fake.requests[-1]["body"]["model"] == "other-model"
    listing = admin_client.get("/admin/templates_app/refinement/").content.decode()
    assert "other-model" in listing and "succeeded" in listing
    detail = admin_client.get(f"/admin/templates_app/refinement/{refinement['id']}/change/").content.decode()
    assert "+Explain {{ topic }} to a {{ difficulty }} student in one line." in detail
    assert admin_client.get("/admin/templates_app/refinement/add/").status_code == 403


def test_an_unreachable_broker_fails_the_refinement_at_once(writer, lesson, fake, django_capture_on_commit_callbacks):
    conf = celery_app.conf
    names = ("task_always_eager", "broker_url", "broker_write_url", "task_publish_retry", "broker_connection_timeout")
    before = {name: conf[name] for name in names}
    conf.task_always_eager, conf.task_publish_retry = False, False
    conf.broker_url = conf.broker_write_url = "redis://127.0.0.1:9/0"  # nothing listens on the discard port
    conf.broker_connection_timeout = 0.5
    celery_app._pool = celery_app.amqp._producer_pool = None  # connections are made from the new URL
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = writer.post(f"{T}/lesson/refinements", {"goal": "shorter"}, format="json")
    finally:
        conf.update(before)
        celery_app._pool = celery_app.amqp._producer_pool = None
    assert response.status_code == 202
    body = writer.get(f"{T}/lesson/refinements/{response.json()['id']}").json()
    assert body["status"] == "failed" and body["error"].startswith("service_unavailable: The task queue")
    assert not fake.requests


def test_the_client_bounds_the_answer_and_counts_calls_and_tokens(fake, settings):
    from prometheus_client import REGISTRY

    def value(name: str, **labels) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = {outcome: value("llm_requests_total", outcome=outcome) for outcome in ("ok", "error", "timeout")}
    prompt_before = value("llm_tokens_total", kind="prompt")
    messages = [{"role": "user", "content": "hi"}]
    llm.chat(messages)
    assert value("llm_requests_total", outcome="ok") == before["ok"] + 1
    assert value("llm_tokens_total", kind="prompt") == prompt_before + 120
    settings.LLM_MAX_RESPONSE_BYTES = 1000
    fake.reply = "x" * 5000
    with pytest.raises(llm.LLMFailed, match="too large"):
        llm.chat(messages)
    fake.mode = "hang"
    with pytest.raises(llm.LLMTimedOut):
        llm.chat(messages, timeout=0.2)
    assert value("llm_requests_total", outcome="error") == before["error"] + 1
    assert value("llm_requests_total", outcome="timeout") == before["timeout"] + 1
