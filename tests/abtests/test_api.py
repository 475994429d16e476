"""A/B tests through the API: the contract's endpoints, routing, metrics, results and error codes."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from abtests.models import ABTest, Assignment, MetricEvent
from abtests.services import variant_for
from promptconfig.common import metrics
from templates_app.services import template_create, template_update
from tests.support.api import answer

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

TESTS = "/api/v1/ab-tests"
BODY_A = "Explain {{ topic }} step by step."
BODY_B = "Tell a story about {{ topic }}."


@pytest.fixture
def templates(workspace):
    a = template_create(workspace=workspace, actor="t", key="lesson_a", name="A", template=BODY_A, node_name="teach")
    b = template_create(workspace=workspace, actor="t", key="lesson_b", name="B", template=BODY_B)
    return a, b


@pytest.fixture
def test_id(writer, templates):
    response = writer.post(
        TESTS,
        {
            "name": "Story vs steps",
            "description": "Does a story teach better?",
            "template_a": "lesson_a",
            "template_b": "lesson_b",
            "traffic_split": 0.5,
            "target_metrics": ["effectiveness", "rating"],
            "duration_days": 7,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return response.json()["test_id"]


def user_with(variant: str, test_id: str, prefix: str = "u") -> str:
    return next(f"{prefix}{i}" for i in range(1000) if variant_for(test_id, f"{prefix}{i}", 0.5) == variant)


def test_create_answers_the_contract_fields(writer, templates):
    before = timezone.now()
    response = writer.post(
        TESTS,
        {
            "name": "T",
            "template_a": "lesson_a",
            "template_b": "lesson_b",
            "traffic_split": 0.3,
            "target_metrics": ["effectiveness"],
            "duration_days": 10,
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert {
        "test_id",
        "name",
        "status",
        "traffic_split",
        "participants",
        "created_at",
        "expires_at",
        "template_a",
        "template_b",
    } <= set(body)
    assert body["status"] == "active" and body["participants"] == 0 and body["traffic_split"] == 0.3
    assert body["template_a"] == "lesson_a" and body["template_b"] == "lesson_b"
    expires = timezone.datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert before + timedelta(days=10) <= expires <= timezone.now() + timedelta(days=10)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"traffic_split": 0}, "traffic_split"),
        ({"traffic_split": 1}, "traffic_split"),
        ({"traffic_split": 1.5}, "traffic_split"),
        ({"target_metrics": []}, "target_metrics"),
        ({"target_metrics": ["bad name"]}, "target_metrics"),
        ({"duration_days": 0}, "duration_days"),
        ({"name": ""}, "name"),
    ],
)
def test_create_rejects_bad_input_with_400(writer, templates, change, field):
    body = {"name": "T", "template_a": "lesson_a", "template_b": "lesson_b", **change}
    response = writer.post(TESTS, body, format="json")
    assert answer(response) == (400, "validation_error")
    assert field in response.json()["error"]["details"]
    assert ABTest.objects.count() == 0


@pytest.mark.parametrize(
    ("change", "field", "expected"),
    [
        # A template or version that does not exist is 404 (the body names it), naming the field.
        ({"template_b": "nope"}, "template_b", (404, "not_found")),
        ({"version_b": 9}, "version_b", (404, "not_found")),
        # Well-formed, but the same template and version twice compares nothing: 409.
        ({"template_b": "lesson_a"}, "template_b", (409, "conflict")),
    ],
)
def test_create_refuses_what_the_stored_templates_do_not_allow(writer, templates, change, field, expected):
    body = {"name": "T", "template_a": "lesson_a", "template_b": "lesson_b", **change}
    response = writer.post(TESTS, body, format="json")
    assert answer(response) == expected
    assert field in response.json()["error"]["details"]
    assert ABTest.objects.count() == 0


def test_one_active_test_per_template_a(writer, test_id):
    body = {"name": "Second", "template_a": "lesson_a", "template_b": "lesson_b"}
    assert answer(writer.post(TESTS, body, format="json")) == (409, "conflict")
    draft = writer.post(TESTS, {**body, "status": "draft"}, format="json")
    assert draft.status_code == 201 and draft.json()["status"] == "draft"
    assert answer(writer.patch(f"{TESTS}/{draft.json()['test_id']}", {"status": "active"}, format="json")) == (
        409,
        "conflict",
    )
    writer.patch(f"{TESTS}/{test_id}", {"status": "paused"}, format="json")
    activated = writer.patch(f"{TESTS}/{draft.json()['test_id']}", {"status": "active"}, format="json")
    assert activated.status_code == 200 and activated.json()["status"] == "active"


def test_status_transitions(writer, test_id):
    url = f"{TESTS}/{test_id}"
    assert writer.patch(url, {"status": "paused"}, format="json").json()["status"] == "paused"
    assert writer.patch(url, {"status": "active"}, format="json").json()["status"] == "active"
    completed = writer.patch(url, {"status": "completed"}, format="json").json()
    assert completed["status"] == "completed" and completed["completed_at"]
    assert answer(writer.patch(url, {"status": "active"}, format="json")) == (409, "conflict")
    assert answer(writer.patch(url, {"status": "finished"}, format="json")) == (400, "validation_error")


def test_list_read_and_workspace_isolation(writer, reader, make_client, test_id):
    listed = reader.get(TESTS).json()
    assert listed["count"] == 1 and listed["results"][0]["test_id"] == test_id
    assert reader.get(TESTS, {"status": "active"}).json()["count"] == 1
    assert reader.get(TESTS, {"status": "paused"}).json()["count"] == 0
    assert answer(reader.get(TESTS, {"status": "bogus"})) == (400, "validation_error")
    assert reader.get(f"{TESTS}/{test_id}").json()["name"] == "Story vs steps"
    stranger = make_client(scope="admin")
    assert stranger.get(TESTS).json()["count"] == 0
    for response in (
        stranger.get(f"{TESTS}/{test_id}"),
        stranger.get(f"{TESTS}/{test_id}/select", {"user_id": "u"}),
        stranger.post(f"{TESTS}/{test_id}/metrics", {"user_id": "u", "metric": "m", "value": 1}, format="json"),
        stranger.get(f"{TESTS}/{test_id}/results"),
        stranger.patch(f"{TESTS}/{test_id}", {"status": "paused"}, format="json"),
        reader.get(f"{TESTS}/not-a-uuid"),
    ):
        assert answer(response) == (404, "not_found")


def test_scopes(reader, test_id):
    body = {"name": "T", "template_a": "lesson_b", "template_b": "lesson_a"}
    assert answer(reader.post(TESTS, body, format="json")) == (403, "permission_denied")
    assert answer(reader.patch(f"{TESTS}/{test_id}", {"status": "paused"}, format="json")) == (
        403,
        "permission_denied",
    )
    assert reader.get(f"{TESTS}/{test_id}/select", {"user_id": "u1"}).status_code == 200
    assert (
        reader.post(
            f"{TESTS}/{test_id}/metrics", {"user_id": "u1", "metric": "m", "value": 1}, format="json"
        ).status_code
        == 201
    )


def test_select_is_sticky_stored_once_and_counted(reader, test_id):
    before = metrics.ab_test_participants_total.labels(test_id=test_id, variant=variant_for(test_id, "alice", 0.5))
    before_value = before._value.get()
    answers = {reader.get(f"{TESTS}/{test_id}/select", {"user_id": "alice"}).json()["variant"] for _ in range(20)}
    assert len(answers) == 1 and answers == {variant_for(test_id, "alice", 0.5)}
    assert Assignment.objects.filter(test_id=test_id, user_id="alice").count() == 1
    assert before._value.get() == before_value + 1
    body = reader.get(f"{TESTS}/{test_id}/select", {"user_id": "alice"}).json()
    assert body == {
        "test_id": test_id,
        "variant": answers.pop(),
        "template_id": "lesson_a" if body["variant"] == "A" else "lesson_b",
    }
    assert reader.get(f"{TESTS}/{test_id}").json()["participants"] == 1
    assert answer(reader.get(f"{TESTS}/{test_id}/select")) == (400, "validation_error")


def test_the_stored_assignment_wins_over_the_hash(reader, test_id):
    other = "B" if variant_for(test_id, "bob", 0.5) == "A" else "A"
    Assignment.objects.create(test_id=test_id, user_id="bob", variant=other)
    assert reader.get(f"{TESTS}/{test_id}/select", {"user_id": "bob"}).json()["variant"] == other


def test_paused_completed_and_expired_tests_route_nobody(writer, reader, test_id):
    url = f"{TESTS}/{test_id}"
    b_user = user_with("B", test_id)
    gen = {"template_id": "lesson_a", "user_id": b_user, "context": {"topic": "tides"}}
    assert reader.post("/api/v1/prompts/generate", gen, format="json").json()["template_used"] == "lesson_b"
    writer.patch(url, {"status": "paused"}, format="json")
    served = reader.post("/api/v1/prompts/generate", gen, format="json").json()
    assert served["template_used"] == "lesson_a" and served["ab_test"] is None
    assert answer(reader.get(f"{url}/select", {"user_id": b_user})) == (409, "conflict")
    writer.patch(url, {"status": "active"}, format="json")
    ABTest.objects.filter(pk=test_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    writer.post("/api/v1/cache/invalidate", {"pattern": "*"}, format="json")
    assert reader.post("/api/v1/prompts/generate", gen, format="json").json()["ab_test"] is None
    writer.patch(url, {"status": "completed"}, format="json")
    assert reader.post("/api/v1/prompts/generate", gen, format="json").json()["ab_test"] is None


def test_routing_ends_at_the_tests_expiry_though_the_routed_answers_are_kept(writer, reader, test_id):
    """A warm answer is served from the process's memo (no lookup runs again): it must still end with the test."""
    b_user = user_with("B", test_id)
    expires = timezone.now() + timedelta(seconds=2)
    ABTest.objects.filter(pk=test_id).update(expires_at=expires)
    writer.post("/api/v1/cache/invalidate", {"pattern": "*"}, format="json")
    gen = {"template_id": "lesson_a", "user_id": b_user, "context": {"topic": "tides"}}
    data = {"template_id": "lesson_a", "user_id": b_user}
    routed = {"test_id": test_id, "variant": "B"}
    for _ in range(2):  # made, then served from the memo
        assert reader.post("/api/v1/prompts/generate", gen, format="json").json()["ab_test"] == routed
        assert reader.post("/api/v1/prompt-data", data, format="json").json()["ab_test"] == routed
    time.sleep(max(0.0, (expires - timezone.now()).total_seconds()) + 0.05)
    served = reader.post("/api/v1/prompts/generate", gen, format="json").json()
    assert served["ab_test"] is None and served["template_used"] == "lesson_a"
    assert reader.post("/api/v1/prompt-data", data, format="json").json()["ab_test"] is None


@pytest.mark.parametrize("by", ["template_id", "node_name"])
def test_generate_routes_by_key_or_node_and_says_so(reader, test_id, by):
    for variant, template in (("A", "lesson_a"), ("B", "lesson_b")):
        user = user_with(variant, test_id)
        target = {"template_id": "lesson_a"} if by == "template_id" else {"node_name": "teach"}
        body = reader.post(
            "/api/v1/prompts/generate", {**target, "user_id": user, "context": {"topic": "tides"}}, format="json"
        ).json()
        assert body["template_used"] == template
        assert body["ab_test"] == {"test_id": test_id, "variant": variant}
        assert body["generated_prompt"] == (BODY_A if variant == "A" else BODY_B).replace("{{ topic }}", "tides")
        record = reader.get(f"/api/v1/prompts/{body['prompt_id']}").json()
        assert record["ab_test"] == {"test_id": test_id, "variant": variant}


def test_batch_generate_prompt_and_prompt_data_route_too(reader, test_id):
    b_user = user_with("B", test_id)
    batch = reader.post(
        "/api/v1/prompts/generate/batch",
        {"requests": [{"template_id": "lesson_a", "user_id": b_user, "context": {"topic": "x"}}]},
        format="json",
    ).json()
    assert batch["results"][0]["template_used"] == "lesson_b"
    assert batch["results"][0]["ab_test"]["variant"] == "B"
    prompt = reader.post(
        "/api/v1/generate-prompt", {"node_name": "teach", "user_id": b_user, "context": {"topic": "x"}}, format="json"
    ).json()
    assert prompt["template_used"] == "lesson_b" and prompt["ab_test"] == {"test_id": test_id, "variant": "B"}
    data = reader.post("/api/v1/prompt-data", {"node_name": "teach", "user_id": b_user}, format="json")
    assert data.json()["template"] == BODY_B and data.json()["ab_test"] == {"test_id": test_id, "variant": "B"}
    a_user = user_with("A", test_id)
    data_a = reader.post("/api/v1/prompt-data", {"node_name": "teach", "user_id": a_user}, format="json").json()
    assert data_a["template"] == BODY_A and data_a["template_id"] == "lesson_a"


def test_pins_and_anonymous_callers_bypass_the_test(reader, test_id):
    b_user = user_with("B", test_id)
    pinned = reader.post(
        "/api/v1/prompts/generate",
        {"template_id": "lesson_a", "user_id": b_user, "version": 1, "context": {"topic": "x"}},
        format="json",
    ).json()
    assert pinned["template_used"] == "lesson_a" and pinned["ab_test"] is None
    anonymous = reader.post(
        "/api/v1/prompts/generate", {"template_id": "lesson_a", "context": {"topic": "x"}}, format="json"
    ).json()
    assert anonymous["template_used"] == "lesson_a" and anonymous["ab_test"] is None


def test_pinned_versions_are_served(writer, reader, workspace, templates):
    _, b = templates
    template_update(b, actor="t", template="Version two about {{ topic }}.")
    created = writer.post(
        TESTS,
        {"name": "Pinned", "template_a": "lesson_a", "template_b": "lesson_b", "version_b": 1},
        format="json",
    ).json()
    assert created["version_b"] == 1 and created["version_a"] is None
    b_user = user_with("B", created["test_id"])
    body = reader.post(
        "/api/v1/prompts/generate",
        {"template_id": "lesson_a", "user_id": b_user, "context": {"topic": "x"}},
        format="json",
    ).json()
    assert body["generated_prompt"] == "Tell a story about x." and body["template_version"] == 1


def test_metrics_endpoint(reader, test_id):
    url = f"{TESTS}/{test_id}/metrics"
    assert answer(reader.post(url, {"user_id": "ghost", "metric": "clicks", "value": 1}, format="json")) == (
        409,
        "conflict",
    )
    reader.get(f"{TESTS}/{test_id}/select", {"user_id": "carol"})
    response = reader.post(url, {"user_id": "carol", "metric": "clicks", "value": 3.5}, format="json")
    assert response.status_code == 201
    assert response.json()["variant"] == variant_for(test_id, "carol", 0.5)
    for bad in (
        {"user_id": "carol", "metric": "clicks"},
        {"user_id": "carol", "metric": "bad name", "value": 1},
        {"user_id": "carol", "metric": "clicks", "value": "NaN"},
        {"metric": "clicks", "value": 1},
    ):
        assert answer(reader.post(url, bad, format="json")) == (400, "validation_error")
    assert MetricEvent.objects.filter(test_id=test_id).count() == 1


def test_feedback_feeds_the_test_once(reader, test_id):
    user = user_with("B", test_id)
    prompt = reader.post(
        "/api/v1/prompts/generate",
        {"template_id": "lesson_a", "user_id": user, "context": {"topic": "x"}},
        format="json",
    ).json()
    url = f"/api/v1/prompts/{prompt['prompt_id']}/feedback"
    reader.post(url, {"rating": 4, "effectiveness_score": 0.5, "metrics": {"completion": 1}}, format="json")
    reader.post(url, {"rating": 5, "effectiveness_score": 0.9, "metrics": {"completion": 1}}, format="json")
    events = {e.metric: (e.value, e.variant) for e in MetricEvent.objects.filter(test_id=test_id)}
    assert events == {"rating": (5.0, "B"), "effectiveness": (0.9, "B"), "completion": (1.0, "B")}


def test_results_shape(reader, test_id):
    reader.get(f"{TESTS}/{test_id}/select", {"user_id": "dave"})
    body = reader.get(f"{TESTS}/{test_id}/results").json()
    assert {
        "status",
        "results",
        "winner",
        "confidence_level",
        "statistical_significance",
        "p_values",
        "srm",
        "computed_at",
    } <= set(body)
    assert set(body["results"]) == {"template_a", "template_b"}
    assert {"participants", "metrics", "samples"} <= set(body["results"]["template_a"])
    assert body["results"]["template_a"]["participants"] + body["results"]["template_b"]["participants"] == 1
    assert body["winner"] is None and body["srm"]["mismatch"] is False and body["computed_at"]


def test_analyze_on_demand_queues_the_task(writer, reader, test_id):
    reader.get(f"{TESTS}/{test_id}/select", {"user_id": "erin"})
    response = writer.post(f"{TESTS}/{test_id}/analyze")
    assert response.status_code == 202  # eager Celery in tests without a broker; the worker test covers the queue
    assert answer(reader.post(f"{TESTS}/{test_id}/analyze")) == (403, "permission_denied")


def archive(writer, key: str) -> None:
    for status in ("deprecated", "archived"):
        response = writer.put(f"/api/v1/templates/{key}/lifecycle", {"status": status, "reason": "r"}, format="json")
        assert response.status_code == 200, response.content


def test_when_b_cannot_be_served_everyone_gets_a_outside_the_test(writer, reader, test_id):
    b_user = user_with("B", test_id)
    gen = {"template_id": "lesson_a", "user_id": b_user, "context": {"topic": "x"}}
    archive(writer, "lesson_b")
    served = reader.post("/api/v1/prompts/generate", gen, format="json").json()
    assert served["template_used"] == "lesson_a" and served["ab_test"] is None
    assert not Assignment.objects.filter(test_id=test_id, user_id=b_user).exists()


def test_an_archived_template_a_is_gone_for_every_variant(writer, reader, test_id):
    b_user = user_with("B", test_id)
    archive(writer, "lesson_a")
    gen = {"template_id": "lesson_a", "user_id": b_user, "context": {"topic": "x"}}
    assert answer(reader.post("/api/v1/prompts/generate", gen, format="json")) == (410, "gone")


def test_metric_values_are_bounded_so_the_analysis_stays_finite(reader, test_id):
    """A value of 1e308 was stored, and from then on every analysis of the test failed (an overflow summing
    squares): results answered 500 for good."""
    url = f"{TESTS}/{test_id}/metrics"
    users = [
        user_with(variant, test_id, prefix) for variant, prefix in (("A", "a"), ("A", "b"), ("B", "a"), ("B", "b"))
    ]
    for user in users:
        reader.get(f"{TESTS}/{test_id}/select", {"user_id": user})
    for bad in (1e308, -1e13):
        assert answer(reader.post(url, {"user_id": users[0], "metric": "clicks", "value": bad}, format="json")) == (
            400,
            "validation_error",
        )
    for user, value in zip(users, (1e12, -1e12, 1e12, 1e12), strict=True):
        response = reader.post(url, {"user_id": user, "metric": "clicks", "value": value}, format="json")
        assert response.status_code == 201, response.content
    prompt = reader.post(
        "/api/v1/prompts/generate",
        {"template_id": "lesson_a", "user_id": users[0], "context": {"topic": "x"}},
        format="json",
    ).json()
    feedback = f"/api/v1/prompts/{prompt['prompt_id']}/feedback"
    assert answer(reader.post(feedback, {"metrics": {"clicks": 1e300}}, format="json")) == (400, "validation_error")
    results = reader.get(f"{TESTS}/{test_id}/results")
    assert results.status_code == 200, results.content


def test_a_test_in_a_language_needs_both_templates_in_that_language(writer, templates, workspace):
    """A French test of English-only templates was created as an English one, silently."""
    body = {"name": "Fr", "template_a": "lesson_a", "template_b": "lesson_b", "language": "fr"}
    response = writer.post(TESTS, body, format="json")
    assert answer(response) == (404, "not_found") and "template_a" in response.json()["error"]["details"]
    template_create(workspace=workspace, actor="t", key="lesson_a", name="A fr", template="Histoire", language="fr")
    template_create(workspace=workspace, actor="t", key="lesson_b", name="B fr", template="Étapes", language="fr")
    created = writer.post(TESTS, body, format="json")
    assert created.status_code == 201 and created.json()["language"] == "fr"
