"""prompt-data for the Python client: pinned versions and labels, required and optional placeholders,
model_config, and the batch endpoint; GET /templates/{key} with ?version= and ?label=."""

import pytest

from profiles.services import profile_create
from templates_app.services import label_set, template_create, template_update
from tests.support.api import answer

PD = "/api/v1/prompt-data"
BODY_1 = "v1 about {{ topic }}{% if additional_context is defined %} ({{ additional_context }}){% endif %}."
BODY_2 = "v2 about {{ topic }} for {{ learning_style }}{{ extra | default('') }}."


@pytest.fixture
def client(make_client, workspace):
    return make_client(workspace, "read")


@pytest.fixture
def lesson(workspace):
    """v1 served (production), v2 saved but not published and labelled `staging`."""
    template = template_create(
        workspace=workspace,
        actor="t",
        key="lesson",
        name="Lesson",
        template=BODY_1,
        model_config={"provider": "openai", "model": "gpt-4o", "params": {"temperature": 0.2}},
    )
    template_update(template, actor="t", template=BODY_2, publish=False)
    label_set(template=template, name="staging", number=2, actor="t")
    return template


def prompt_data(client, **body):
    response = client.post(PD, {"template_id": "lesson", **body}, format="json")
    assert response.status_code == 200, response.content
    return response


def test_the_served_version_by_default_and_what_is_required_or_optional(client, lesson):
    body = prompt_data(client).json()
    assert body["template_version"] == 1 and body["template"] == BODY_1
    assert body["required_dynamic_placeholders"] == ["topic"]
    assert body["optional_dynamic_placeholders"] == ["additional_context"]
    assert body["model_config"] == {"provider": "openai", "model": "gpt-4o", "params": {"temperature": 0.2}}


@pytest.mark.parametrize("pin", [{"label": "staging"}, {"version": 2}, {"label": "latest"}])
def test_a_label_or_version_is_honoured(client, lesson, pin):
    response = prompt_data(client, **pin)
    body = response.json()
    assert body["template_version"] == 2 and body["template"] == BODY_2
    assert body["required_dynamic_placeholders"] == ["topic"]  # learning_style comes from the profile
    assert body["optional_dynamic_placeholders"] == ["extra"]
    assert response["ETag"] != prompt_data(client)["ETag"]


def test_pins_are_validated_and_unknown_ones_are_404(client, lesson):
    assert answer(client.post(PD, {"template_id": "lesson", "label": "nope"}, format="json")) == (404, "not_found")
    assert answer(client.post(PD, {"template_id": "lesson", "version": 9}, format="json")) == (404, "not_found")
    both = {"template_id": "lesson", "version": 2, "label": "staging"}
    assert answer(client.post(PD, both, format="json")) == (400, "validation_error")
    assert answer(client.post(PD, {"template_id": "lesson", "version": 0}, format="json")) == (400, "validation_error")


def test_a_profile_attribute_turns_a_required_placeholder_into_a_user_placeholder(client, lesson, workspace):
    profile_create(workspace=workspace, user_id="ann", attributes={"topic": "tides"})
    body = prompt_data(client, user_id="ann").json()
    assert body["user_placeholders"]["topic"] == "tides"
    assert body["required_dynamic_placeholders"] == [] and body["optional_dynamic_placeholders"] == [
        "additional_context"
    ]


def test_a_placeholder_read_only_under_a_condition_on_a_missing_one_is_required(client, workspace):
    template_create(
        workspace=workspace, actor="t", key="cond", name="C", template="{% if mood %}{{ reason }}{% endif %}!"
    )
    body = client.post(PD, {"template_id": "cond"}, format="json").json()
    assert body["required_dynamic_placeholders"] == ["mood", "reason"]
    assert body["optional_dynamic_placeholders"] == []


def test_batch_answers_in_order_with_etags_and_per_item_errors(client, lesson):
    requests = [
        {"template_id": "lesson"},
        {"template_id": "nope"},
        {"template_id": "lesson", "label": "staging", "user_id": "u1"},
        {"node_name": ""},
        "not an object",
    ]
    response = client.post(f"{PD}/batch", {"requests": requests}, format="json")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    assert len(results) == 5
    assert results[0]["template_version"] == 1 and results[0]["etag"] == prompt_data(client)["ETag"]
    assert results[1]["error"]["code"] == "not_found"
    assert results[2]["template_version"] == 2
    assert results[2]["etag"] == prompt_data(client, label="staging", user_id="u1")["ETag"]
    assert results[3]["error"]["code"] == "validation_error" and results[4]["error"]["code"] == "validation_error"


@pytest.mark.parametrize("body", [{"requests": []}, {"requests": [{"template_id": "lesson"}] * 101}, {}])
def test_batch_limits(client, lesson, body):
    assert answer(client.post(f"{PD}/batch", body, format="json")) == (400, "validation_error")


def test_template_representation_at_a_version_or_label(client, lesson):
    served = client.get("/api/v1/templates/lesson").json()
    assert served["version"] == 1 and served["template"] == BODY_1
    for query in ("?version=2", "?label=staging", "?label=latest"):
        body = client.get(f"/api/v1/templates/lesson{query}").json()
        assert body["version"] == 2 and body["template"] == BODY_2, query
        assert body["variables"] == ["extra", "learning_style", "topic"]
        assert body["labels"] == {"production": 1, "staging": 2, "latest": 2}
    assert client.get("/api/v1/templates/lesson?label=production").json()["version"] == 1
    # The served representation is not changed by having shown another version (shared cached instance).
    assert client.get("/api/v1/templates/lesson").json()["template"] == BODY_1
    assert answer(client.get("/api/v1/templates/lesson?version=7")) == (404, "not_found")
    assert answer(client.get("/api/v1/templates/lesson?label=nope")) == (404, "not_found")
    assert answer(client.get("/api/v1/templates/lesson?version=x")) == (400, "validation_error")
    # Both: the label must point at that version.
    assert client.get("/api/v1/templates/lesson?version=2&label=staging").json()["version"] == 2
    assert answer(client.get("/api/v1/templates/lesson?version=1&label=staging")) == (409, "conflict")


def test_responses_say_whether_the_user_has_a_profile(client, lesson, workspace):
    profile_create(workspace=workspace, user_id="ann")
    for user_id, found in (("ann", True), ("nobody", False), ("", False)):
        assert prompt_data(client, user_id=user_id).json()["profile_found"] is found, user_id
        body = {"template_id": "lesson", "user_id": user_id, "context": {"topic": "x"}}
        assert client.post("/api/v1/prompts/generate", body, format="json").json()["profile_found"] is found
    assert prompt_data(client, user_id="nobody")["ETag"] != prompt_data(client, user_id="ann")["ETag"]


def test_a_profiles_language_preference_picks_the_variant(client, workspace):
    template_create(workspace=workspace, actor="t", key="greet", name="G", template="Hello {{ topic }}")
    template_create(workspace=workspace, actor="t", key="greet", name="G", language="de", template="Hallo {{ topic }}")
    profile_create(workspace=workspace, user_id="hans", language_preference="de-AT")
    profile_create(workspace=workspace, user_id="jane", language_preference="fr")

    def served(user_id, **extra):
        body = {"template_id": "greet", "user_id": user_id, "context": {"topic": "x"}, **extra}
        text = client.post("/api/v1/prompts/generate", body, format="json").json()["generated_prompt"]
        language = client.post(PD, {"template_id": "greet", "user_id": user_id, **extra}, format="json").json()[
            "language"
        ]
        return text, language

    assert served("hans") == ("Hallo x", "de")  # de-AT falls back to de
    assert served("hans", language="en") == ("Hello x", "en")  # the request's language first
    assert served("jane") == ("Hello x", "en")  # no French variant: the workspace default
    assert served("nobody") == ("Hello x", "en")
