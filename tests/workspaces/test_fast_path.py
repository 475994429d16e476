"""The fast path (promptconfig/workspaces/fastpath.py) answers exactly as the normal path does, and takes the
plain calls of the hot views.

Every request below is made twice, with API_FAST_PATH on and off, by two keys of the same scope (so each has
its own rate-limit window), and the answers must be the same: status, body and headers. The rest of the suite
runs with the fast path on, so it checks the same rules (scopes, limits, errors) through it as well.
"""

import json

import pytest
from prometheus_client import REGISTRY
from rest_framework.test import APIClient
from rest_framework.views import APIView

from profiles.services import profile_create
from promptconfig.workspaces.services import api_key_revoke
from templates_app.services import template_create

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

# Different on each call by design: compared for presence only.
VOLATILE_HEADERS = {"X-Request-ID"}
VOLATILE_FIELDS = {"prompt_id", "expires_at", "cache_hit"}  # the second generate is a cache hit


@pytest.fixture
def data(workspace):
    template_create(
        workspace=workspace,
        actor="t",
        key="lesson",
        name="Lesson",
        template="Teach {{ topic }} to a {{ learning_style }} learner.",
        node_name="lesson_node",
    )
    profile_create(workspace=workspace, user_id="ada", learning_style="visual")
    return workspace


@pytest.fixture
def dispatches(monkeypatch):
    """How many requests went through DRF's generic APIView.dispatch (the normal path)."""
    calls = []
    original = APIView.dispatch

    def counting(self, request, *args, **kwargs):
        calls.append(request.path)
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(APIView, "dispatch", counting)
    return calls


def _answer(response) -> tuple[int, object, dict]:
    assert set(response.headers) >= VOLATILE_HEADERS
    assert response.get("Content-Length", str(len(response.content))) == str(len(response.content))
    headers = {name: value for name, value in response.headers.items() if name not in VOLATILE_HEADERS}
    headers.pop("Content-Length", None)  # the volatile fields may differ in length
    body = json.loads(response.content) if response.content else None
    if isinstance(body, dict):
        body = {name: value for name, value in body.items() if name not in VOLATILE_FIELDS}
    return response.status_code, body, headers


def both(settings, make_client, workspace, request, *, dispatches: list) -> tuple[int, object, dict]:
    """`request(client)` answered the same with the fast path on (never reaching DRF's dispatch) and off."""
    answers = []
    for fast in (True, False):
        settings.API_FAST_PATH = fast
        before = len(dispatches)
        answers.append(_answer(request(make_client(workspace, "read"))))
        assert len(dispatches) - before == (0 if fast else 1)
    assert answers[0] == answers[1]
    return answers[0]


GENERATE = {"user_id": "ada", "template_id": "lesson", "context": {"topic": "volcanoes"}}
PROMPT_DATA = {"user_id": "ada", "template_id": "lesson"}


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("get", "/api/v1/profiles/ada", None, 200),
        ("get", "/api/v1/profiles/nobody", None, 404),
        ("get", "/api/v1/profiles", None, 200),
        ("post", "/api/v1/prompt-data", PROMPT_DATA, 200),
        ("post", "/api/v1/prompt-data", {"user_id": "ada", "template_id": "missing"}, 404),
        ("post", "/api/v1/prompt-data", {"user_id": "ada"}, 400),
        ("post", "/api/v1/prompts/generate", GENERATE, 200),
        ("post", "/api/v1/prompts/generate", {**GENERATE, "context": "volcanoes"}, 400),
        ("post", "/api/v1/prompts/generate", {**GENERATE, "context": {"topic": "a\x00b"}}, 400),
        (
            "post",
            "/api/v1/generate-prompt",
            {"user_id": "ada", "node_name": "lesson_node", "context": {"topic": "x"}},
            200,
        ),
        ("post", "/api/v1/prompts/generate", {**GENERATE, "template_id": "nope"}, 404),
    ],
)
def test_the_fast_path_answers_as_the_normal_path(settings, make_client, data, dispatches, method, path, body, status):
    def request(client):
        return client.get(path) if method == "get" else client.post(path, body, format="json")

    assert both(settings, make_client, data, request, dispatches=dispatches)[0] == status


def test_not_modified_and_malformed_json(settings, make_client, data, dispatches):
    etag = make_client(data, "read").post("/api/v1/prompt-data", PROMPT_DATA, format="json")["ETag"]
    status, body, headers = both(
        settings,
        make_client,
        data,
        lambda client: client.post("/api/v1/prompt-data", PROMPT_DATA, format="json", HTTP_IF_NONE_MATCH=etag),
        dispatches=dispatches,
    )
    assert (status, body, headers["ETag"]) == (304, None, etag)
    assert "Content-Type" not in headers
    status, body, _ = both(
        settings,
        make_client,
        data,
        lambda client: client.post("/api/v1/prompt-data", b'{"user_id": ', content_type="application/json"),
        dispatches=dispatches,
    )
    assert (status, body["error"]["code"]) == (400, "validation_error")


@pytest.mark.parametrize(
    ("raw", "field"),
    [(b"", "template_id"), (b"[" * 40 + b"]" * 40, "body"), (b'{"user_id": "a\\u0000b"}', "body")],
    ids=["empty", "nested too deeply", "NUL"],
)
def test_bodies_the_parser_refuses(settings, make_client, data, dispatches, raw, field):
    status, body, _ = both(
        settings,
        make_client,
        data,
        lambda client: client.post("/api/v1/prompt-data", raw, content_type="application/json"),
        dispatches=dispatches,
    )
    assert (status, body["error"]["code"]) == (400, "validation_error"), body
    assert field in body["error"]["details"], body


def test_refusals_answer_alike(settings, make_client, data, dispatches):
    # A write call with a read key.
    status, body, _ = both(
        settings,
        make_client,
        data,
        lambda client: client.post("/api/v1/profiles", {"user_id": "bob"}, format="json"),
        dispatches=dispatches,
    )
    assert (status, body["error"]["code"]) == (403, "permission_denied")
    # The same call with a write key creates the profile both times (the second is a conflict).
    statuses = []
    for fast in (True, False):
        settings.API_FAST_PATH = fast
        response = make_client(data, "write").post("/api/v1/profiles", {"user_id": "carl"}, format="json")
        statuses.append(response.status_code)
    assert statuses == [201, 409]
    # Over the rate limit: the key's second call in the window.
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "runtime": "1/min"}
    for fast in (True, False):
        settings.API_FAST_PATH = fast
        client = make_client(data, "read")
        assert client.get("/api/v1/profiles/ada").status_code == 200
        refused = client.get("/api/v1/profiles/ada")
        assert (refused.status_code, refused.json()["error"]["code"]) == (429, "rate_limited")
        assert 1 <= int(refused["Retry-After"]) <= 60


@pytest.mark.parametrize("fast", [True, False])
def test_unknown_and_revoked_keys(settings, make_client, data, fast):
    settings.API_FAST_PATH = fast
    client = make_client(data, "read")
    assert client.get("/api/v1/profiles/ada").status_code == 200
    api_key_revoke(api_key=client.api_key)
    for answer in (
        client.get("/api/v1/profiles/ada"),
        APIClient(HTTP_AUTHORIZATION="Bearer pc_nope").get("/api/v1/profiles/ada"),
    ):
        assert (answer.status_code, answer.json()["error"]["code"]) == (401, "authentication_failed")
        assert answer["WWW-Authenticate"] == 'Bearer realm="api"'


def test_unusual_calls_take_the_normal_path(settings, make_client, data, dispatches):
    client = make_client(data, "read")
    assert client.get("/api/v1/profiles/ada", HTTP_ACCEPT="text/html").status_code == 406
    assert client.get("/api/v1/profiles?page=1").status_code == 200
    assert client.head("/api/v1/profiles/ada").status_code == 200
    assert (
        client.post("/api/v1/prompt-data", "user_id=ada", content_type="application/x-www-form-urlencoded").status_code
        == 415
    )
    assert len(dispatches) == 4
    assert client.get("/api/v1/profiles/ada", HTTP_HOST="evil.example").status_code == 400
    assert APIClient().get("/api/v1/profiles/ada").status_code == 401  # no key: DRF's own answer


def test_a_host_accepted_once_is_refused_after_allowed_hosts_change(settings, make_client, data, dispatches):
    settings.API_FAST_PATH = True
    settings.ALLOWED_HOSTS = ["api.example", "testserver"]
    client = make_client(data, "read")
    assert client.get("/api/v1/profiles/ada", HTTP_HOST="api.example").status_code == 200
    settings.ALLOWED_HOSTS = ["testserver"]
    assert client.get("/api/v1/profiles/ada", HTTP_HOST="api.example").status_code == 400
    assert client.get("/api/v1/profiles/ada").status_code == 200
    assert dispatches == []


def _samples(name: str, **labels) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_fast_path_records_the_same_metrics(settings, make_client, data):
    settings.API_FAST_PATH = True
    labels = {"status": "200", "view": "profile-detail", "method": "GET"}
    before = _samples("django_http_responses_total_by_status_view_method_total", **labels)
    latency = _samples("django_http_requests_latency_seconds_by_view_method_count", view="profile-detail", method="GET")
    assert make_client(data, "read").get("/api/v1/profiles/ada").status_code == 200
    assert _samples("django_http_responses_total_by_status_view_method_total", **labels) == before + 1
    assert (
        _samples("django_http_requests_latency_seconds_by_view_method_count", view="profile-detail", method="GET")
        == latency + 1
    )
