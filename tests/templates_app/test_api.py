"""The Templates section of the API contract, endpoint by endpoint."""

import pytest

from promptconfig.events.models import Event
from templates_app.models import PromptTemplate, TemplateVersion
from tests.support.api import answer, code_of

T = "/api/v1/templates"
VISUAL = (
    "You are an expert educational content creator specializing in visual learning. Create engaging content "
    "about {{ topic }} for {{ difficulty }} level students with a {{ learning_style }} learning preference."
)


def create(client, **fields):
    body = {"key": "visual", "name": "Visual", "template": VISUAL, "category": "content_generation", **fields}
    response = client.post(T, body, format="json")
    assert response.status_code == 201, response.content
    return response.json()


# --- create, read, list --------------------------------------------------------------------------
def test_create_returns_the_full_representation(writer):
    body = create(
        writer,
        tags=["edu", "visual"],
        metadata={"goal": "engagement"},
        priority=5,
        node_name="generating_content",
        model_config={"provider": "openai", "model": "gpt-4o", "params": {"temperature": 0.2}},
    )
    assert body["id"] == body["key"] == "visual"
    assert body["language"] == "en" and body["status"] == "published" and body["is_active"] is True
    assert body["template"] == VISUAL
    assert body["variables"] == ["difficulty", "learning_style", "topic"]
    assert body["version"] == body["latest_version"] == 1
    assert body["labels"] == {"production": 1, "latest": 1}
    assert body["tags"] == ["edu", "visual"] and body["metadata"] == {"goal": "engagement"}
    assert body["model_config"] == {"provider": "openai", "model": "gpt-4o", "params": {"temperature": 0.2}}
    assert body["created_by"] == "api:write key"
    assert {"usage_count", "success_rate", "average_rating", "created_at", "updated_at", "variable_schema"} <= set(body)


def test_key_is_derived_from_the_name(writer):
    body = writer.post(T, {"name": "Quiz Maker: Physics!", "template": "Hi"}, format="json").json()
    assert body["key"] == "quiz_maker_physics"


def test_declared_variables_are_listed_with_the_used_ones(writer):
    body = create(writer, variables=["tone"])
    assert body["variables"] == ["difficulty", "learning_style", "tone", "topic"]


def test_a_duplicate_key_and_language_is_409(writer):
    create(writer)
    response = writer.post(T, {"key": "visual", "name": "Again", "template": "x"}, format="json")
    assert response.status_code == 409 and code_of(response) == "conflict"
    assert (
        writer.post(T, {"key": "visual", "name": "De", "template": "x", "language": "de"}, format="json").status_code
        == 201
    )


@pytest.mark.parametrize("body", ["{{ topic ", "{% if x %}no end", "{{ x | no_such_filter }}", "{% include other %}"])
def test_bad_jinja_is_422_template_error_and_nothing_is_stored(writer, body):
    response = writer.post(T, {"key": "bad", "name": "Bad", "template": body}, format="json")
    assert response.status_code == 422 and code_of(response) == "template_error"
    assert not PromptTemplate.objects.filter(key="bad").exists()


def test_a_syntax_error_names_its_line(writer):
    response = writer.post(T, {"key": "bad", "name": "Bad", "template": "line one\n{{ oops"}, format="json")
    assert response.json()["error"]["details"]["line"] == 2


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("key", "Not A Slug"),
        ("model_config", {"provider": "openai"}),
        ("model_config", "gpt"),
        ("variable_schema", [1]),
        ("status", "live"),
        ("tags", "a,b"),
        ("metadata", [1]),
        ("variables", ["9bad"]),
    ],
)
def test_invalid_fields_are_400_naming_the_field(writer, field, value):
    response = writer.post(T, {"key": "k", "name": "K", "template": "x", field: value}, format="json")
    assert response.status_code == 400 and code_of(response) == "validation_error"
    assert field in response.json()["error"]["details"]


# The same rule as ensure-version's model_id (templates_app/model_config.py): a model id ends up in a
# provider's URL path, so it holds no '/', '?', '#', '%', whitespace or control characters.
BAD_MODEL_CONFIGS = [
    {"provider": "azure-openai", "model": "../../../internal/steal?x="},
    {"provider": "openai", "model": "a/b"},
    {"provider": "openai", "model": "gpt-4o\r\nX-Injected: 1"},
    {"provider": "openai", "model": "gpt-4o\n"},  # '$' would let a trailing newline through
    {"provider": "openai", "model": " gpt-4o"},
    {"provider": "openai", "model": "m" * 201},
    {"provider": "openai", "model": "-gpt"},
    {"provider": "openai", "model": "gpt%2e"},
    {"provider": "open ai", "model": "gpt-4o"},
    {"provider": "openai/../x", "model": "gpt-4o"},
    {"provider": "p" * 33, "model": "gpt-4o"},
    {"provider": "openai", "model": 7},
]
GOOD_MODEL_CONFIGS = [
    {"provider": "openai", "model": "ft:gpt-4o-mini-2024-07-18:acme::abc123", "params": {}},
    {"provider": "anthropic", "model": "claude-3-5-sonnet@20241022", "params": {}},
    {"provider": "azure-openai", "model": "gpt4o_deploy.v2", "params": {}},
    {"provider": "OpenAI", "model": "m" * 200, "params": {"temperature": 0}},
    {"provider": "p" * 32, "model": "x", "params": {}},
]


@pytest.mark.parametrize("config", BAD_MODEL_CONFIGS)
def test_a_model_config_model_or_provider_outside_the_model_id_rule_is_400_on_every_write(writer, config):
    response = writer.post(T, {"key": "k", "name": "K", "template": "x", "model_config": config}, format="json")
    assert response.status_code == 400 and code_of(response) == "validation_error"
    assert "model_config" in response.json()["error"]["details"]
    assert not PromptTemplate.objects.filter(key="k").exists()
    create(writer)
    for method, body in (("patch", {}), ("put", {"name": "Visual", "template": VISUAL})):
        response = getattr(writer, method)(f"{T}/visual", {**body, "model_config": config}, format="json")
        assert response.status_code == 400 and code_of(response) == "validation_error", method
        assert "model_config" in response.json()["error"]["details"]
    assert TemplateVersion.objects.filter(template__key="visual").count() == 1


@pytest.mark.parametrize("config", GOOD_MODEL_CONFIGS)
def test_model_ids_within_the_rule_are_saved(writer, config):
    assert create(writer, model_config=config)["model_config"] == config
    assert writer.patch(f"{T}/visual", {"model_config": None}, format="json").json()["model_config"] is None
    assert writer.patch(f"{T}/visual", {"model_config": config}, format="json").json()["model_config"] == config


@pytest.mark.parametrize(
    "config",
    # Strings without surrounding whitespace: ensure-version's fields trim it (and take 7 as "7") first.
    [
        c
        for c in BAD_MODEL_CONFIGS + GOOD_MODEL_CONFIGS
        if isinstance(c["model"], str) and c["model"] == c["model"].strip()
    ],
)
def test_model_config_and_ensure_version_apply_one_rule(writer, config):
    """What a template may store is exactly what ensure-version accepts as provider and model_id."""
    saved = writer.post(T, {"key": "k", "name": "K", "template": "x", "model_config": config}, format="json")
    create(writer)
    probed = writer.post(
        f"{T}/visual/ensure-version", {"provider": config["provider"], "model_id": config["model"]}, format="json"
    )
    assert (saved.status_code == 201) == (probed.status_code in (200, 201)), (saved.content, probed.content)


def test_the_service_applies_the_rule_for_every_caller(workspace):
    """The admin form saves through the services too: the rule is there, not only in the serializer."""
    from promptconfig.common.errors import ValidationFailed
    from templates_app.services import template_create, template_update

    bad = {"provider": "openai", "model": "../../x", "params": {}}
    with pytest.raises(ValidationFailed) as raised:
        template_create(workspace=workspace, actor="t", key="k", name="K", template="x", model_config=bad)
    assert "model_config" in raised.value.details
    template = template_create(workspace=workspace, actor="t", key="k", name="K", template="x")
    with pytest.raises(ValidationFailed):
        template_update(template, actor="t", model_config=bad)
    assert template.versions.count() == 1


@pytest.mark.parametrize(
    "schema", [{"type": "nonsense"}, {"$ref": "http://169.254.169.254/latest"}, {"$defs": {"a": {"$ref": "x.json"}}}]
)
def test_an_invalid_variable_schema_is_a_400_on_its_field(writer, schema):
    """A field of the request that is not valid (the contract's template_error is the body's failure). A `$ref`
    outside the schema was saved, then failed every generate as unresolvable."""
    response = writer.post(T, {"key": "k", "name": "K", "template": "x", "variable_schema": schema}, format="json")
    assert response.status_code == 400 and code_of(response) == "validation_error"
    assert list(response.json()["error"]["details"]) == ["variable_schema"]
    local = {"$defs": {"t": {"type": "string"}}, "properties": {"topic": {"$ref": "#/$defs/t"}}}
    ok = writer.post(T, {"key": "k", "name": "K", "template": "{{ topic }}", "variable_schema": local}, format="json")
    assert ok.status_code == 201, ok.content


def test_read_scope_can_read_but_not_write(reader, writer):
    create(writer)
    assert reader.get(f"{T}/visual").status_code == 200
    response = reader.post(T, {"key": "x", "name": "X", "template": "x"}, format="json")
    assert response.status_code == 403 and code_of(response) == "permission_denied"
    assert reader.patch(f"{T}/visual", {"name": "n"}, format="json").status_code == 403


def test_another_workspace_sees_nothing(writer, make_client):
    create(writer)
    stranger = make_client(scope="admin")
    assert stranger.get(f"{T}/visual").status_code == 404
    assert stranger.get(T).json()["count"] == 0
    assert stranger.patch(f"{T}/visual", {"name": "mine"}, format="json").status_code == 404
    assert stranger.delete(f"{T}/visual").status_code == 404
    assert stranger.post(f"{T}/visual/fork", {"new_key": "stolen"}, format="json").status_code == 404


def test_language_falls_back_from_region_to_language_to_default(writer):
    create(writer)
    create(writer, language="de", template="Deutsch über {{ topic }}")
    assert writer.get(f"{T}/visual?language=de-AT").json()["language"] == "de"
    assert writer.get(f"{T}/visual?language=de").json()["language"] == "de"
    assert writer.get(f"{T}/visual?language=fr").json()["language"] == "en"
    assert writer.get(f"{T}/visual").json()["language"] == "en"


def test_list_filters_by_every_contract_filter(writer):
    create(writer, key="a", category="content_generation", tags=["x", "y"], node_name="n1", priority=1)
    create(writer, key="b", category="question_generation", tags=["x"], priority=3, is_active=False)
    create(writer, key="c", category="content_generation", language="de", status="draft", priority=2)

    def keys(query: str) -> list[str]:
        response = writer.get(f"{T}?{query}")
        assert response.status_code == 200, response.content
        return [item["key"] for item in response.json()["results"]]

    assert keys("category=content_generation&ordering=key") == ["a", "c"]
    assert keys("language=de") == ["c"]
    assert keys("status=draft") == ["c"]
    assert keys("tags=x&ordering=key") == ["a", "b"]
    assert keys("tags=x,y") == ["a"]
    assert keys("is_active=false") == ["b"]
    assert keys("node_name=n1") == ["a"]
    assert keys("ordering=-priority") == ["b", "c", "a"]
    assert keys("ordering=priority") == ["a", "c", "b"]
    assert writer.get(f"{T}?status=bogus").status_code == 400


def test_list_search_covers_name_description_and_body(writer):
    create(writer, key="a", name="Photosynthesis explainer", template="Explain {{ topic }}.")
    create(writer, key="b", name="Quiz", description="Questions about volcanoes", template="Ask.")
    create(writer, key="c", name="Other", template="Mention the mitochondria please.")
    for word, key in [("photosynthesis", "a"), ("volcanoes", "b"), ("mitochondria", "c")]:
        assert [item["key"] for item in writer.get(f"{T}?search={word}").json()["results"]] == [key]


def test_search_endpoint_with_filters_and_facets(writer):
    create(writer, key="a", name="Volcano lesson", category="content_generation", tags=["geo"])
    create(writer, key="b", name="Volcano quiz", category="question_generation", tags=["geo", "quiz"])
    create(writer, key="c", name="Rivers", category="content_generation")
    response = writer.post(f"{T}/search", {"query": "volcano", "facets": True}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert {item["key"] for item in body["results"]} == {"a", "b"} and body["count"] == 2
    assert body["facets"]["category"] == {"content_generation": 1, "question_generation": 1}
    assert body["facets"]["tags"] == {"geo": 2, "quiz": 1}
    assert body["facets"]["language"] == {"en": 2} and body["facets"]["status"] == {"published": 2}
    filtered = writer.post(
        f"{T}/search", {"query": "volcano", "filters": {"category": "question_generation"}}, format="json"
    ).json()
    assert [item["key"] for item in filtered["results"]] == ["b"] and "facets" not in filtered
    assert writer.post(f"{T}/search", {"filters": {"status": "nope"}}, format="json").status_code == 400


# --- updates and versions ----------------------------------------------------------------------
def test_changing_content_makes_a_new_version_served_at_once(writer):
    create(writer)
    response = writer.patch(f"{T}/visual", {"template": "New {{ topic }}", "change_note": "shorter"}, format="json")
    body = response.json()
    assert body["version"] == body["latest_version"] == 2 and body["template"] == "New {{ topic }}"
    versions = writer.get(f"{T}/visual/versions").json()["results"]
    assert [v["number"] for v in versions] == [1, 2]
    assert versions[1]["change_note"] == "shorter" and versions[0]["template"] == VISUAL
    assert versions[1]["labels"] == ["latest", "production"]


def test_publish_false_keeps_serving_the_old_version(writer):
    create(writer)
    body = writer.patch(f"{T}/visual", {"template": "Draft {{ topic }}", "publish": False}, format="json").json()
    assert body["version"] == 1 and body["latest_version"] == 2 and body["template"] == VISUAL
    assert body["labels"] == {"production": 1, "latest": 2}


def test_descriptive_changes_make_no_version(writer):
    create(writer)
    body = writer.patch(f"{T}/visual", {"name": "Renamed", "tags": ["t"], "priority": 9}, format="json").json()
    assert body["version"] == 1 and body["name"] == "Renamed" and body["tags"] == ["t"] and body["priority"] == 9
    assert TemplateVersion.objects.count() == 1


def test_put_replaces_and_needs_the_required_fields(writer):
    create(writer)
    assert writer.put(f"{T}/visual", {"name": "Only name"}, format="json").status_code == 400
    body = writer.put(f"{T}/visual", {"name": "N", "template": "T {{ topic }}"}, format="json").json()
    assert body["name"] == "N" and body["version"] == 2


def test_sending_back_what_get_gave_makes_no_version(writer):
    """`variables` in the representation are the names the body uses plus the declared ones; a PUT or PATCH of it
    as it came made a new, identical version, published it and moved `production`."""
    writer.post(T, {"key": "rt", "name": "RT", "template": "Hi {{ who }}", "variables": ["extra"]}, format="json")
    shown = writer.get(f"{T}/rt").json()
    assert shown["variables"] == ["extra", "who"]
    assert writer.put(f"{T}/rt", shown, format="json").json()["latest_version"] == 1
    assert writer.patch(f"{T}/rt", {"variables": shown["variables"]}, format="json").json()["latest_version"] == 1
    changed = writer.patch(f"{T}/rt", {**shown, "template": "Bye {{ who }}"}, format="json").json()
    assert changed["latest_version"] == 2 and changed["variables"] == ["extra", "who"]
    assert TemplateVersion.objects.get(template__key="rt", number=2).variables == ["extra"]  # declared as before
    assert writer.patch(f"{T}/rt", {"variables": []}, format="json").json()["variables"] == ["who"]


@pytest.mark.parametrize("field", ["key", "language", "status"])
def test_update_cannot_change_identity_or_status(writer, field):
    create(writer)
    response = writer.patch(f"{T}/visual", {field: "draft" if field == "status" else "other"}, format="json")
    assert response.status_code == 400 and field in response.json()["error"]["details"]


def test_a_bad_update_changes_nothing(writer):
    create(writer)
    response = writer.patch(f"{T}/visual", {"name": "Half", "template": "{{ broken"}, format="json")
    assert response.status_code == 422
    body = writer.get(f"{T}/visual").json()
    assert body["name"] == "Visual" and body["latest_version"] == 1


def test_version_detail_and_404s(writer):
    create(writer)
    version = writer.get(f"{T}/visual/versions/1").json()
    assert version["number"] == 1 and version["template"] == VISUAL and version["labels"] == ["latest", "production"]
    assert [event["event"] for event in version["history"]] == ["version_created", "published"] or version["history"]
    assert code_of(writer.get(f"{T}/visual/versions/9")) == "not_found"
    assert code_of(writer.get(f"{T}/nothing/versions")) == "not_found"


def test_publish_and_rollback_move_production(writer):
    create(writer)
    writer.patch(f"{T}/visual", {"template": "v2 {{ topic }}"}, format="json")
    writer.patch(f"{T}/visual", {"template": "v3 {{ topic }}", "publish": False}, format="json")
    published = writer.post(f"{T}/visual/versions/3/publish").json()
    assert published["version"] == 3 and published["template"] == "v3 {{ topic }}"
    rolled = writer.post(f"{T}/visual/versions/1/rollback").json()
    assert rolled["version"] == 1 and rolled["labels"]["production"] == 1
    kinds = list(Event.objects.filter(subject_id="visual").order_by("id").values_list("type", flat=True))
    assert kinds[-1] == "template.rolled_back" and "template.published" in kinds
    assert code_of(writer.post(f"{T}/visual/versions/7/publish")) == "not_found"


def test_diff_lines_stay_apart_without_a_trailing_newline(writer):
    create(writer, template="line one\nline two\nline three")
    writer.patch(f"{T}/visual", {"template": "line one\nline 2"}, format="json")
    diff = writer.get(f"{T}/visual/versions/compare?from=1&to=2").json()["content_diff"]
    assert diff.splitlines()[3:] == [" line one", "-line two", "-line three", "+line 2"]
    assert writer.get(f"{T}/visual/drift?baseline=1").json()["content"]["content_diff"] == diff


def test_compare_two_versions(writer):
    create(writer, metadata={"goal": "engagement"}, model_config={"provider": "openai", "model": "gpt-4o"})
    writer.patch(
        f"{T}/visual",
        {
            "template": "Teach {{ topic }} with {{ tone }}.",
            "metadata": {"goal": "retention"},
            "model_config": {"provider": "openai", "model": "gpt-4.1", "params": {"temperature": 0.1}},
        },
        format="json",
    )
    body = writer.get(f"{T}/visual/versions/compare?from=1&to=2").json()
    assert body["content_diff"].startswith("--- v1\n+++ v2\n")
    assert "+Teach {{ topic }} with {{ tone }}." in body["content_diff"]
    assert 0 < body["similarity"] < 1
    assert body["variables_added"] == ["tone"]
    assert body["variables_removed"] == ["difficulty", "learning_style"]
    assert body["metadata_changes"] == {"goal": {"from": "engagement", "to": "retention"}}
    assert body["model_config_changes"] == {
        "model": {"from": "gpt-4o", "to": "gpt-4.1"},
        "params.temperature": {"from": None, "to": 0.1},
    }
    assert writer.get(f"{T}/visual/versions/compare?from=1&to=1").json()["similarity"] == 1.0
    assert code_of(writer.get(f"{T}/visual/versions/compare?from=1")) == "validation_error"
    assert code_of(writer.get(f"{T}/visual/versions/compare?from=1&to=5")) == "not_found"


def test_labels_point_at_any_version(writer):
    create(writer)
    writer.patch(f"{T}/visual", {"template": "v2"}, format="json")
    body = writer.put(f"{T}/visual/labels/staging", {"version": 1}, format="json").json()
    assert body["labels"] == {"production": 2, "latest": 2, "staging": 1}
    assert writer.put(f"{T}/visual/labels/production", {"version": 1}, format="json").json()["version"] == 1
    assert writer.delete(f"{T}/visual/labels/staging").status_code == 204
    assert "staging" not in writer.get(f"{T}/visual").json()["labels"]
    assert code_of(writer.delete(f"{T}/visual/labels/staging")) == "not_found"
    assert code_of(writer.delete(f"{T}/visual/labels/production")) == "conflict"
    assert code_of(writer.put(f"{T}/visual/labels/latest", {"version": 1}, format="json")) == "validation_error"
    assert code_of(writer.put(f"{T}/visual/labels/staging", {"version": 9}, format="json")) == "not_found"
    assert code_of(writer.put(f"{T}/visual/labels/staging", {}, format="json")) == "validation_error"


# --- lifecycle, delete, fork, relationships ------------------------------------------------------
@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        (["published", "deprecated", "archived", "draft", "published"], True),
        (["published", "deprecated", "published"], True),
        (["published", "draft"], False),
        (["published", "archived"], False),
        (["published", "deprecated", "archived", "published"], False),
    ],
)
def test_lifecycle_follows_the_contracts_transitions(writer, path, allowed):
    create(writer, status=path[0])
    responses = [writer.put(f"{T}/visual/lifecycle", {"status": s, "reason": "test"}, format="json") for s in path[1:]]
    if allowed:
        assert [r.status_code for r in responses] == [200] * len(responses)
        assert writer.get(f"{T}/visual").json()["status"] == path[-1]
    else:
        assert responses[-1].status_code == 409 and code_of(responses[-1]) == "conflict"
        assert writer.get(f"{T}/visual").json()["status"] == path[-2]


def test_lifecycle_changes_are_recorded_with_reason(writer):
    create(writer)
    writer.put(f"{T}/visual/lifecycle", {"status": "deprecated", "reason": "superseded"}, format="json")
    history = writer.get(f"{T}/visual/history").json()["results"]
    assert history[-1]["event"] == "lifecycle_changed"
    assert history[-1]["data"] == {"from": "published", "to": "deprecated", "reason": "superseded"}
    assert history[-1]["actor"] == "api:write key"


def test_delete_is_soft_and_then_404_everywhere(writer):
    create(writer)
    assert writer.delete(f"{T}/visual").status_code == 204
    for path in ["", "/versions", "/versions/1", "/suggestions", "/drift", "/relationships"]:
        assert writer.get(f"{T}/visual{path}").status_code == 404, path
    assert writer.get(T).json()["count"] == 0
    assert TemplateVersion.objects.filter(template__key="visual").count() == 1
    assert writer.delete(f"{T}/visual").status_code == 404
    assert writer.post(T, {"key": "visual", "name": "Reborn", "template": "x"}, format="json").status_code == 201


def test_a_template_that_served_ones_include_cannot_be_deleted(writer):
    """Deleting it answered 204, then every generate of the templates including it failed (422)."""
    writer.post(T, {"key": "child", "name": "C", "template": "Child"}, format="json")
    writer.post(T, {"key": "parent", "name": "P", "template": "{% include 'child' %} and more"}, format="json")
    writer.post(T, {"key": "grand", "name": "G", "template": "{% include 'parent' %}!"}, format="json")
    refused = writer.delete(f"{T}/child")
    assert answer(refused) == (409, "conflict")
    assert refused.json()["error"]["details"] == {"included_by": ["grand", "parent"]}
    assert writer.get(f"{T}/child").status_code == 200
    writer.patch(f"{T}/parent", {"template": "Standalone"}, format="json")
    assert writer.delete(f"{T}/child").status_code == 204


def test_fork_copies_the_served_version_and_records_the_relationship(writer):
    create(writer, tags=["edu"], node_name="generating_content")
    writer.patch(f"{T}/visual", {"template": "unpublished", "publish": False}, format="json")
    response = writer.post(f"{T}/visual/fork", {"new_key": "visual_b", "name": "Visual B"}, format="json")
    assert response.status_code == 201
    fork = response.json()
    assert fork["key"] == "visual_b" and fork["template"] == VISUAL and fork["version"] == 1
    assert fork["status"] == "draft" and fork["tags"] == ["edu"] and fork["node_name"] == ""
    relations = writer.get(f"{T}/visual_b/relationships").json()
    assert relations["outgoing"][0] == {**relations["outgoing"][0], "target": "visual", "kind": "forked_from"}
    assert writer.get(f"{T}/visual/relationships").json()["incoming"][0]["source"] == "visual_b"
    assert code_of(writer.post(f"{T}/visual/fork", {"new_key": "visual_b"}, format="json")) == "conflict"
    assert code_of(writer.post(f"{T}/visual/fork", {}, format="json")) == "validation_error"


def test_relationships(writer):
    create(writer, key="a")
    create(writer, key="b")
    response = writer.post(f"{T}/a/relationships", {"target": "b", "kind": "extends"}, format="json")
    assert response.status_code == 201
    assert response.json() == {**response.json(), "source": "a", "target": "b", "kind": "extends"}
    assert writer.get(f"{T}/b/relationships").json()["incoming"][0]["source"] == "a"
    assert code_of(writer.post(f"{T}/a/relationships", {"target": "b", "kind": "extends"}, format="json")) == "conflict"
    assert (
        code_of(writer.post(f"{T}/a/relationships", {"target": "zz", "kind": "extends"}, format="json")) == "not_found"
    )
    # A template relating to itself is a well-formed body the template's own key makes impossible: 409.
    assert code_of(writer.post(f"{T}/a/relationships", {"target": "a", "kind": "extends"}, format="json")) == (
        "conflict"
    )
    assert code_of(writer.post(f"{T}/a/relationships", {"target": "b", "kind": "forked_from"}, format="json")) == (
        "validation_error"
    )


def test_node_name_maps_to_one_key_per_workspace(writer):
    create(writer, key="a", node_name="generating_content")
    create(writer, key="a", language="de", node_name="generating_content")
    response = writer.post(
        T, {"key": "b", "name": "B", "template": "x", "node_name": "generating_content"}, format="json"
    )
    assert response.status_code == 409 and code_of(response) == "conflict"


# --- suggestions and drift -------------------------------------------------------------------------
def test_suggestions_review_the_body(writer):
    create(
        writer,
        template=(
            "Teach {topic} to me in detail.\nTeach {topic} to me in detail.\n"
            "Subjects: {{ preferred_subjects }} and {{ tone }}"
        ),
        variables=["tone", "unused_one"],
    )
    codes = {item["code"] for item in writer.get(f"{T}/visual/suggestions").json()["suggestions"]}
    assert {
        "single_brace_placeholder",
        "duplicated_line",
        "list_printed_raw",
        "unused_variable",
        "variable_not_from_profile",
        "missing_output_format",
    } <= codes


def test_suggestions_are_quiet_for_a_clean_body(writer):
    create(
        writer, template="Write three bullet points about {{ difficulty }} topics for a {{ learning_style }} learner."
    )
    assert writer.get(f"{T}/visual/suggestions").json()["suggestions"] == []


def test_drift_from_the_first_published_version(writer):
    create(writer)
    writer.patch(f"{T}/visual", {"template": "Rewritten about {{ topic }} and {{ goal }}"}, format="json")
    content = writer.get(f"{T}/visual/drift").json()["content"]
    assert content["baseline_version"] == 1 and content["current_version"] == 2
    assert content["drifted"] is True and content["similarity"] < 1
    assert content["variables_added"] == ["goal"]
    same = writer.get(f"{T}/visual/drift?baseline=2").json()["content"]
    assert same["drifted"] is False and same["similarity"] == 1.0
    assert code_of(writer.get(f"{T}/visual/drift?baseline=x")) == "validation_error"


def test_includes_are_checked_at_save_time(writer):
    create(writer, key="header", template="HEADER")
    assert (
        writer.post(
            T, {"key": "page", "name": "P", "template": '{% include "header" %} body'}, format="json"
        ).status_code
        == 201
    )
    missing = writer.post(T, {"key": "p2", "name": "P2", "template": '{% include "nope" %}'}, format="json")
    assert missing.status_code == 422 and code_of(missing) == "template_error"
    cycle = writer.patch(f"{T}/header", {"template": '{% include "page" %}'}, format="json")
    assert cycle.status_code == 422 and code_of(cycle) == "template_error"


def test_every_state_change_is_in_the_history(writer):
    create(writer)
    writer.patch(f"{T}/visual", {"name": "Renamed"}, format="json")
    writer.patch(f"{T}/visual", {"template": "v2"}, format="json")
    writer.put(f"{T}/visual/labels/staging", {"version": 1}, format="json")
    writer.post(f"{T}/visual/versions/1/rollback")
    writer.put(f"{T}/visual/lifecycle", {"status": "deprecated"}, format="json")
    events = [event["event"] for event in writer.get(f"{T}/visual/history").json()["results"]]
    assert events == [
        "created",
        "version_created",
        "published",
        "updated",
        "version_created",
        "published",
        "label_moved",
        "rolled_back",
        "lifecycle_changed",
    ]


def test_single_brace_placeholders_are_warned_about_and_never_reported_applied(writer, reader):
    body = {
        "key": "brace",
        "name": "B",
        "template": "Explain {topic} to a {{ learning_style }} learner {x}.",
        "variables": ["topic"],
    }
    saved = writer.post(T, body, format="json")
    assert saved.status_code == 201
    assert [w["code"] for w in saved.json()["warnings"]] == ["single_brace_placeholder"]  # {x} is no known name
    assert "{{ topic }}" in saved.json()["warnings"][0]["message"]
    generated = reader.post(
        "/api/v1/prompts/generate", {"template_id": "brace", "context": {"topic": "tides"}}, format="json"
    )
    assert generated.json()["generated_prompt"].startswith("Explain {topic}")
    assert "topic" not in generated.json()["variables_applied"]  # the body never used it
    fixed = writer.patch(f"{T}/brace", {"template": "Explain {{ topic }}."}, format="json")
    assert fixed.status_code == 200 and fixed.json()["warnings"] == []


def test_a_representation_put_back_is_accepted_and_a_changed_key_is_not(writer):
    representation = create(writer)
    changed = {**representation, "template": "New body about {{ topic }}."}
    response = writer.put(f"{T}/visual", changed, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["version"] == 2 and response.json()["template"] == changed["template"]
    for field, value in (("key", "other"), ("language", "de"), ("status", "draft")):
        refused = writer.put(f"{T}/visual", {**changed, field: value}, format="json")
        assert code_of(refused) == "validation_error" and field in refused.json()["error"]["details"], field


def test_unknown_body_fields_are_400_naming_them(writer, reader):
    create(writer)
    refused = writer.post(T, {"key": "k2", "name": "K", "template": "x", "tempalte": "y"}, format="json")
    assert code_of(refused) == "validation_error" and "tempalte" in refused.json()["error"]["details"]
    typo = {"template_id": "visual", "contxt": {"topic": "x"}}
    response = reader.post("/api/v1/prompts/generate", typo, format="json")
    assert code_of(response) == "validation_error" and "contxt" in response.json()["error"]["details"]
    assert (
        code_of(reader.post("/api/v1/prompt-data", {"template_id": "visual", "lang": "en"}, format="json"))
        == "validation_error"
    )
    assert (
        code_of(writer.post("/api/v1/profiles", {"user_id": "u", "learning_styl": "visual"}, format="json"))
        == "validation_error"
    )


def test_a_read_key_may_search(writer, reader):
    create(writer)
    response = reader.post(f"{T}/search", {"query": "visual"}, format="json")
    assert response.status_code == 200 and [item["key"] for item in response.json()["results"]] == ["visual"]
