"""Generating prompts: the contract's runtime endpoints, precedence rules and error codes."""

import time

import pytest

from generation.models import Generation
from profiles.services import profile_create
from templates_app.models import PromptTemplate
from templates_app.services import template_create
from tests.support.api import code_of

GEN = "/api/v1/prompts/generate"
BODY = "Teach {{ topic }} at {{ difficulty }} level to a {{ learning_style }} learner ({{ content_type }})."


@pytest.fixture
def client(make_client, workspace):
    return make_client(workspace, "read")


@pytest.fixture
def lesson(workspace):
    return template_create(
        workspace=workspace, actor="test", key="lesson", name="Lesson", template=BODY, node_name="generating_content"
    )


@pytest.fixture
def alice(workspace):
    return profile_create(
        workspace=workspace,
        user_id="alice",
        learning_style="kinesthetic",
        difficulty_level="advanced",
        attributes={"school": "Hill High", "learning_style": "ignored"},
    )


def generate(client, **body):
    return client.post(GEN, {"template_id": "lesson", **body}, format="json")


def test_generate_returns_the_contract_fields(client, lesson, alice):
    response = generate(client, user_id="alice", context={"topic": "volcanoes"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["generated_prompt"] == "Teach volcanoes at advanced level to a kinesthetic learner (lesson)."
    assert body["template_used"] == "lesson" and body["template_version"] == 1 and body["language"] == "en"
    assert body["variables_applied"] == {
        "content_type": "lesson",
        "difficulty": "advanced",
        "learning_style": "kinesthetic",
        "topic": "volcanoes",
    }
    assert body["ab_test"] is None and body["cache_hit"] is False
    assert body["cache_key"].startswith("prompts:") and body["expires_at"]
    assert set(body) == {
        "prompt_id",
        "generated_prompt",
        "template_used",
        "template_version",
        "language",
        "variables_applied",
        "ab_test",
        "cache_key",
        "cache_hit",
        "expires_at",
        "profile_found",
    }
    assert body["profile_found"] is True


def test_precedence_is_profile_then_context_then_custom(client, lesson, alice, workspace):
    template_create(
        workspace=workspace, actor="t", key="school", name="S", template="{{ school }} {{ learning_style }}"
    )
    assert generate(client, template_id="school", user_id="alice").json()["generated_prompt"] == "Hill High kinesthetic"
    body = generate(
        client,
        user_id="alice",
        context={"topic": "t", "difficulty": "beginner", "learning_style": "visual"},
        custom_variables={"learning_style": "auditory", "content_type": "quiz"},
    ).json()
    assert body["generated_prompt"] == "Teach t at beginner level to a auditory learner (quiz)."


def test_an_unknown_user_gets_the_profile_defaults(client, lesson):
    body = generate(client, user_id="nobody", context={"topic": "rivers"}).json()
    assert body["generated_prompt"] == "Teach rivers at intermediate level to a visual learner (lesson)."


def test_a_missing_variable_is_422_naming_it_never_blank(client, lesson):
    response = generate(client, user_id="alice")
    assert response.status_code == 422 and code_of(response) == "missing_variables"
    assert response.json()["error"]["details"]["missing"] == ["topic"]
    assert Generation.objects.count() == 0


def test_the_variable_schema_is_enforced(client, workspace):
    schema = {"type": "object", "properties": {"count": {"type": "integer", "maximum": 10}}}
    template_create(
        workspace=workspace, actor="t", key="counted", name="C", template="{{ count }}", variable_schema=schema
    )
    response = generate(client, template_id="counted", context={"count": 50})
    assert response.status_code == 422 and code_of(response) == "invalid_variables"
    assert "count" in response.json()["error"]["details"]


def test_a_hostile_template_is_422_template_error(client, workspace):
    template_create(workspace=workspace, actor="t", key="evil", name="E", template="{{ topic * 10**9 }}")
    response = generate(client, template_id="evil", context={"topic": "a"})
    assert response.status_code == 422 and code_of(response) == "template_error"


def test_node_names_resolve_and_an_unknown_node_is_404(client, lesson):
    response = client.post(GEN, {"node_name": "generating_content", "context": {"topic": "x"}}, format="json")
    assert response.json()["template_used"] == "lesson"
    assert code_of(client.post(GEN, {"node_name": "nothing", "context": {}}, format="json")) == "not_found"
    assert code_of(client.post(GEN, {"context": {}}, format="json")) == "validation_error"


def test_rebinding_a_node_takes_effect_at_once(client, lesson, workspace, make_client):
    writer = make_client(workspace, "write")
    client.post(GEN, {"node_name": "generating_content", "context": {"topic": "x"}}, format="json")
    writer.patch("/api/v1/templates/lesson", {"node_name": ""}, format="json")
    writer.post(
        "/api/v1/templates",
        {"key": "other", "name": "O", "template": "other", "node_name": "generating_content"},
        format="json",
    )
    response = client.post(GEN, {"node_name": "generating_content"}, format="json")
    assert response.json()["template_used"] == "other"


def test_language_falls_back(client, lesson, workspace):
    template_create(workspace=workspace, actor="t", key="lesson", language="de", name="L", template="Lerne {{ topic }}")
    body = generate(client, context={"topic": "Vulkane"}, language="de-AT").json()
    assert body["generated_prompt"] == "Lerne Vulkane" and body["language"] == "de"
    assert generate(client, context={"topic": "x"}, language="fr").json()["language"] == "en"


def test_version_and_label_pins(client, lesson, make_client, workspace):
    writer = make_client(workspace, "write")
    writer.patch("/api/v1/templates/lesson", {"template": "v2 {{ topic }}"}, format="json")
    writer.put("/api/v1/templates/lesson/labels/staging", {"version": 1}, format="json")
    assert generate(client, context={"topic": "x"}).json()["generated_prompt"] == "v2 x"
    assert generate(client, context={"topic": "x"}, version=1).json()["template_version"] == 1
    assert generate(client, context={"topic": "x"}, label="staging").json()["template_version"] == 1
    assert generate(client, context={"topic": "x"}, label="latest").json()["template_version"] == 2
    assert code_of(generate(client, context={"topic": "x"}, version=9)) == "not_found"
    assert code_of(generate(client, context={"topic": "x"}, label="nope")) == "not_found"


def test_lifecycle_rules(client, lesson, make_client, workspace):
    writer = make_client(workspace, "write")
    lifecycle = "/api/v1/templates/lesson/lifecycle"
    writer.put(lifecycle, {"status": "deprecated"}, format="json")
    response = generate(client, context={"topic": "x"})
    assert response.status_code == 200 and response.json()["deprecated"] is True
    assert response["Deprecation"] == "true"
    writer.put(lifecycle, {"status": "archived"}, format="json")
    response = generate(client, context={"topic": "x"})
    assert response.status_code == 410 and code_of(response) == "gone"
    writer.put(lifecycle, {"status": "draft"}, format="json")
    response = generate(client, context={"topic": "x"})
    assert response.status_code == 409 and code_of(response) == "template_not_published"
    assert generate(client, context={"topic": "x"}, version=1).status_code == 200
    assert generate(client, context={"topic": "x"}, label="production").status_code == 200


def test_an_inactive_template_is_not_served(client, lesson):
    PromptTemplate.objects.filter(pk=lesson.pk).update(is_active=False)
    from django.core.cache import cache

    cache.clear()
    assert code_of(generate(client, context={"topic": "x"})) == "template_not_published"


def test_a_kept_prompt_expires_with_its_prompt_cache_entry(client, lesson, settings):
    """A warm generate is served from the process's memo (no lookup runs again): it must still expire."""
    settings.PROMPT_CACHE_TTL = 1
    first = generate(client, context={"topic": "x"}).json()
    again = generate(client, context={"topic": "x"}).json()
    assert again["cache_hit"] is True and again["expires_at"] == first["expires_at"]
    time.sleep(1.05)
    later = generate(client, context={"topic": "x"}).json()
    assert later["cache_hit"] is False and later["expires_at"] > first["expires_at"]


def test_the_same_inputs_come_from_cache_and_different_inputs_never_do(client, lesson, alice, make_client, workspace):
    first = generate(client, user_id="alice", context={"topic": "x"}).json()
    again = generate(client, user_id="alice", context={"topic": "x", "unused": "ignored"}).json()
    assert again["cache_hit"] is True and again["generated_prompt"] == first["generated_prompt"]
    assert again["cache_key"] == first["cache_key"] and again["prompt_id"] != first["prompt_id"]
    other = generate(client, user_id="alice", context={"topic": "y"}).json()
    assert other["cache_hit"] is False and other["generated_prompt"].startswith("Teach y")
    make_client(workspace, "write").patch("/api/v1/profiles/alice", {"difficulty_level": "beginner"}, format="json")
    changed = generate(client, user_id="alice", context={"topic": "x"}).json()
    assert changed["cache_hit"] is False and "beginner" in changed["generated_prompt"]
    make_client(workspace, "write").patch("/api/v1/templates/lesson", {"template": "New {{ topic }}"}, format="json")
    assert generate(client, user_id="alice", context={"topic": "x"}).json()["generated_prompt"] == "New x"


def test_includes_render_and_their_variables_count(client, workspace):
    template_create(workspace=workspace, actor="t", key="header", name="H", template="[{{ school_name }}] ")
    template_create(workspace=workspace, actor="t", key="page", name="P", template='{% include "header" %}{{ topic }}')
    response = generate(client, template_id="page", context={"topic": "t"})
    assert code_of(response) == "missing_variables"
    assert response.json()["error"]["details"]["missing"] == ["school_name"]
    body = generate(client, template_id="page", context={"topic": "t", "school_name": "S"}).json()
    assert body["generated_prompt"] == "[S] t" and body["variables_applied"]["school_name"] == "S"


def test_each_generation_is_logged_and_counted(client, lesson, alice):
    prompt_id = generate(client, user_id="alice", context={"topic": "x"}).json()["prompt_id"]
    record = Generation.objects.get(pk=prompt_id)
    assert record.user_id == "alice" and record.context == {"topic": "x"} and record.template_key == "lesson"
    assert record.text.startswith("Teach x") and record.latency_ms >= 0
    lesson.refresh_from_db()
    assert lesson.usage_count == 1
    stored = client.get(f"/api/v1/prompts/{prompt_id}").json()
    assert stored["prompt_id"] == prompt_id and stored["generated_prompt"] == record.text
    assert stored["template_version"] == 1 and stored["feedback"] is None


def test_prompts_of_another_workspace_are_404(client, lesson, make_client):
    prompt_id = generate(client, context={"topic": "x"}).json()["prompt_id"]
    stranger = make_client(scope="admin")
    assert stranger.get(f"/api/v1/prompts/{prompt_id}").status_code == 404
    assert stranger.post(f"/api/v1/prompts/{prompt_id}/feedback", {"rating": 5}, format="json").status_code == 404
    assert (
        code_of(stranger.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json")) == "not_found"
    )
    assert client.get("/api/v1/prompts/not-a-uuid").status_code == 404


def test_feedback_updates_the_record_and_the_template_stats(client, lesson):
    first = generate(client, context={"topic": "x"}).json()["prompt_id"]
    second = generate(client, context={"topic": "y"}).json()["prompt_id"]
    url = "/api/v1/prompts/{}/feedback"
    response = client.post(
        url.format(first), {"rating": 4, "effectiveness_score": 0.5, "metrics": {"clicks": 3}}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["feedback"]["rating"] == 4 and response.json()["feedback"]["metrics"] == {"clicks": 3.0}
    client.post(url.format(second), {"rating": 2, "effectiveness_score": 1.0}, format="json")
    client.post(url.format(second), {"rating": 5}, format="json")  # changing feedback replaces, never double counts
    lesson.refresh_from_db()
    assert (lesson.average_rating, lesson.rating_count) == (4.5, 2)
    assert (lesson.success_rate, lesson.feedback_count) == (0.75, 2)


@pytest.mark.parametrize(
    "body", [{"rating": 0}, {"rating": 6}, {"effectiveness_score": 1.5}, {"metrics": {"m": "high"}}, {}]
)
def test_bad_feedback_is_400(client, lesson, body):
    prompt_id = generate(client, context={"topic": "x"}).json()["prompt_id"]
    response = client.post(f"/api/v1/prompts/{prompt_id}/feedback", body, format="json")
    assert response.status_code == 400 and code_of(response) == "validation_error"


def test_batch_answers_in_order_with_per_item_errors(client, lesson):
    requests = [
        {"template_id": "lesson", "context": {"topic": "a"}},
        {"template_id": "lesson", "context": {}},
        {"template_id": "missing"},
        {"template_id": "lesson", "context": {"topic": "a"}},
        {"context": {}},
    ]
    body = client.post(f"{GEN}/batch", {"requests": requests}, format="json").json()
    results = body["results"]
    assert results[0]["generated_prompt"].startswith("Teach a") and results[0]["cache_hit"] is False
    assert results[1]["error"]["code"] == "missing_variables"
    assert results[2]["error"]["code"] == "not_found"
    assert results[3]["cache_hit"] is True
    assert results[4]["error"]["code"] == "validation_error"
    assert (body["total_generated"], body["cache_hits"], body["cache_misses"]) == (2, 1, 1)
    assert Generation.objects.count() == 2


def test_batch_limits(client, lesson):
    too_many = [{"template_id": "lesson", "context": {"topic": str(i)}} for i in range(101)]
    assert code_of(client.post(f"{GEN}/batch", {"requests": too_many}, format="json")) == "validation_error"
    assert code_of(client.post(f"{GEN}/batch", {"requests": []}, format="json")) == "validation_error"
    assert code_of(client.post(f"{GEN}/batch", {"requests": "x"}, format="json")) == "validation_error"
    assert client.post(f"{GEN}/batch", {"requests": too_many[:100]}, format="json").json()["total_generated"] == 100


def test_generate_prompt(client, lesson, alice):
    response = client.post(
        "/api/v1/generate-prompt",
        {"user_id": "alice", "node_name": "generating_content", "context": {"topic": "x"}},
        format="json",
    )
    body = response.json()
    assert set(body) == {"prompt", "prompt_id", "template_used", "template_version", "ab_test"}
    assert body["prompt"].startswith("Teach x at advanced") and body["template_used"] == "lesson"
    assert code_of(client.post("/api/v1/generate-prompt", {"node_name": "none"}, format="json")) == "not_found"
    assert code_of(client.post("/api/v1/generate-prompt", {}, format="json")) == "validation_error"


def test_prompt_data_gives_what_a_client_needs_with_an_etag(client, workspace, alice):
    template_create(workspace=workspace, actor="t", key="header", name="H", template="[{{ school }}] ")
    template_create(
        workspace=workspace,
        actor="t",
        key="page",
        name="P",
        node_name="n",
        template='{% include "header" %}{{ topic }} for {{ learning_style }}',
    )
    response = client.post("/api/v1/prompt-data", {"user_id": "alice", "node_name": "n"}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["template"] == '{% include "header" %}{{ topic }} for {{ learning_style }}'
    assert body["template_id"] == "page" and body["template_version"] == 1 and body["language"] == "en"
    assert body["includes"] == {"header": "[{{ school }}] "}
    assert body["user_placeholders"]["learning_style"] == "kinesthetic"
    assert body["user_placeholders"]["school"] == "Hill High" and body["user_placeholders"]["difficulty"] == "advanced"
    assert body["required_dynamic_placeholders"] == ["topic"]
    assert body["cache_ttl"] == 300
    etag = response["ETag"]
    again = client.post(
        "/api/v1/prompt-data", {"user_id": "alice", "node_name": "n"}, format="json", HTTP_IF_NONE_MATCH=etag
    )
    assert again.status_code == 304 and again.content == b""
    other_user = client.post(
        "/api/v1/prompt-data", {"user_id": "bob", "node_name": "n"}, format="json", HTTP_IF_NONE_MATCH=etag
    )
    assert other_user.status_code == 200 and other_user["ETag"] != etag
    # If-None-Match compares weakly (a proxy may have added W/), in a list, and `*` matches any.
    for header, status in ((f"W/{etag}", 304), (f'"zzz", {etag}', 304), ("*", 304), ('"zzz"', 200), ("junk", 200)):
        answered = client.post(
            "/api/v1/prompt-data", {"user_id": "alice", "node_name": "n"}, format="json", HTTP_IF_NONE_MATCH=header
        )
        assert answered.status_code == status, header


def test_prompt_data_renders_locally_byte_for_byte(client, workspace, alice):
    from promptconfig_client.engine import Engine

    template_create(workspace=workspace, actor="t", key="header", name="H", template="[{{ school }}] ")
    template_create(
        workspace=workspace, actor="t", key="page", name="P", template='{% include "header" %}{{ topic|upper }}'
    )
    data = client.post("/api/v1/prompt-data", {"user_id": "alice", "template_id": "page"}, format="json").json()
    local = Engine().render(
        data["template"], {**data["user_placeholders"], "topic": "tides"}, includes=data["includes"]
    )
    served = generate(client, template_id="page", user_id="alice", context={"topic": "tides"}).json()[
        "generated_prompt"
    ]
    assert local == served == "[Hill High] TIDES"


def test_prompt_data_lifecycle_and_errors(client, lesson, make_client, workspace):
    writer = make_client(workspace, "write")
    before = client.post("/api/v1/prompt-data", {"template_id": "lesson"}, format="json")
    assert "deprecated" not in before.json() and not before.has_header("Deprecation")
    writer.put("/api/v1/templates/lesson/lifecycle", {"status": "deprecated"}, format="json")
    # Said as generate says it, and a client revalidating its copy learns of it (a new ETag, not a 304).
    deprecated = client.post(
        "/api/v1/prompt-data", {"template_id": "lesson"}, format="json", HTTP_IF_NONE_MATCH=before["ETag"]
    )
    assert deprecated.status_code == 200 and deprecated.json()["deprecated"] is True
    assert deprecated["Deprecation"] == "true" and deprecated["ETag"] != before["ETag"]
    batch = client.post("/api/v1/prompt-data/batch", {"requests": [{"template_id": "lesson"}]}, format="json")
    assert batch.json()["results"][0]["deprecated"] is True
    lesson_node = client.post(
        "/api/v1/generate-prompt", {"node_name": lesson.node_name, "context": {"topic": "x"}}, format="json"
    )
    assert lesson_node.json()["deprecated"] is True and lesson_node["Deprecation"] == "true"
    writer.put("/api/v1/templates/lesson/lifecycle", {"status": "archived"}, format="json")
    assert code_of(client.post("/api/v1/prompt-data", {"template_id": "lesson"}, format="json")) == "gone"
    assert code_of(client.post("/api/v1/prompt-data", {"template_id": "zzz"}, format="json")) == "not_found"
    assert code_of(client.post("/api/v1/prompt-data", {}, format="json")) == "validation_error"


def test_runtime_calls_need_a_key(db, lesson):
    from rest_framework.test import APIClient

    assert APIClient().post(GEN, {"template_id": "lesson"}, format="json").status_code == 401


def test_a_warm_generate_makes_a_constant_number_of_queries(client, workspace, alice, django_assert_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for index in range(20):
        template_create(workspace=workspace, actor="t", key=f"t{index}", name="T", template="{{ topic }}")
        profile_create(workspace=workspace, user_id=f"user{index}")
    template_create(workspace=workspace, actor="t", key="lesson", name="L", template=BODY)
    generate(client, user_id="alice", context={"topic": "x"})
    # The key, template, profile and prompt come from caches: only the log insert and the usage count remain.
    with CaptureQueriesContext(connection) as captured:
        generate(client, user_id="alice", context={"topic": "x"})
    statements = [query["sql"].split()[0] for query in captured if "SAVEPOINT" not in query["sql"]]
    assert statements == ["INSERT", "UPDATE"]
    client.post("/api/v1/prompt-data", {"user_id": "alice", "template_id": "lesson"}, format="json")
    with django_assert_num_queries(0):
        client.post("/api/v1/prompt-data", {"user_id": "alice", "template_id": "lesson"}, format="json")


@pytest.mark.parametrize("path", [GEN, "/api/v1/prompt-data"])
def test_template_id_and_node_name_together_are_refused(client, lesson, path):
    """The contract asks for one or the other: with both, which one won was a rule no caller could see."""
    body = {"template_id": "lesson", "node_name": "generating_content", "context": {"topic": "x"}}
    if path != GEN:
        del body["context"]
    response = client.post(path, body, format="json")
    assert code_of(response) == "validation_error" and "node_name" in response.json()["error"]["details"]
