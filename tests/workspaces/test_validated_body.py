"""A runtime call's small JSON body is parsed and validated once per process (`validated_body` in
promptconfig/workspaces/viewsets.py): the same bytes give the same data or the same error every time."""

import json

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from promptconfig.workspaces import viewsets
from promptconfig.workspaces.viewsets import MEMO_BODY, _validated_json
from templates_app.services import template_create

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


@pytest.fixture
def lesson(workspace):
    template_create(workspace=workspace, actor="t", key="lesson", name="Lesson", template="Teach {{ topic }}.")
    _validated_json.cache_clear()
    return workspace


def _post(client: APIClient, path: str, body: bytes, content_type: str = "application/json"):
    return client.post(path, body, content_type=content_type)


def test_the_same_body_is_validated_once(lesson, reader):
    body = json.dumps({"template_id": "lesson", "context": {"topic": "tides"}}).encode()
    first = _post(reader, "/api/v1/prompts/generate", body)
    second = _post(reader, "/api/v1/prompts/generate", body)
    assert first.status_code == second.status_code == 200
    assert second.json()["generated_prompt"] == "Teach tides."
    info = _validated_json.cache_info()
    assert (info.hits, info.misses) == (1, 1)
    other = _post(reader, "/api/v1/prompts/generate", body.replace(b"tides", b"waves"))
    assert other.json()["generated_prompt"] == "Teach waves."
    assert _validated_json.cache_info().misses == 2


def test_an_invalid_body_answers_its_error_every_time(lesson, reader):
    for body in (b'{"template_id": "lesson", "contxt": {}}', b'{"template_id": ', b'{"template_id": "Not a slug!"}'):
        answers = [_post(reader, "/api/v1/prompts/generate", body) for _ in range(2)]
        assert [answer.status_code for answer in answers] == [400, 400]
        assert answers[0].json()["error"]["code"] == answers[1].json()["error"]["code"]
        assert answers[0].json()["error"]["details"] == answers[1].json()["error"]["details"]
    assert _validated_json.cache_info().currsize == 0


def test_each_endpoint_validates_the_same_bytes_with_its_own_rules(lesson, reader):
    body = b'{"template_id": "lesson", "context": {"topic": "tides"}}'
    assert _post(reader, "/api/v1/prompts/generate", body).status_code == 200
    refused = _post(reader, "/api/v1/prompt-data", body)  # prompt-data takes no context
    assert refused.status_code == 400
    assert refused.json()["error"]["details"] == {"context": ["Unknown field."]}


def test_large_bodies_and_other_content_types_are_not_kept(lesson, reader):
    padded = json.dumps({"template_id": "lesson", "context": {"topic": "x" * MEMO_BODY}}).encode()
    assert len(padded) > MEMO_BODY
    assert _post(reader, "/api/v1/prompts/generate", padded).status_code == 200
    with_charset = _post(
        reader,
        "/api/v1/prompt-data",
        b'{"template_id": "lesson"}',
        content_type="application/json; charset=utf-8",
    )
    assert with_charset.status_code == 200
    info = _validated_json.cache_info()
    assert (info.hits, info.misses) == (0, 0)


def test_a_settings_change_forgets_the_bodies(lesson, reader):
    deep = json.dumps({"template_id": "lesson", "context": {"topic": "t", "a": {"b": {"c": 1}}}}).encode()
    assert _post(reader, "/api/v1/prompts/generate", deep).status_code == 200
    with override_settings(MAX_JSON_DEPTH=2):
        assert viewsets._validated_json.cache_info().currsize == 0
        refused = _post(reader, "/api/v1/prompts/generate", deep)
    assert refused.status_code == 400
