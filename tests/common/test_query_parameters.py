"""The server accepts what the OpenAPI document says, no more: query parameters (unknown, repeated, outside their
enum), search filters, tags with surrounding space, and a version and label that must agree."""

import pytest

from templates_app.services import template_create, template_update
from tests.support.api import code_of

T = "/api/v1/templates"
BODY = "Teach {{ topic }}."


@pytest.fixture
def lesson(workspace):
    template = template_create(workspace=workspace, actor="t", key="lesson", name="Lesson", template=BODY)
    template_update(template, actor="t", template="Teach {{ topic }} twice.")
    return template


def details(response) -> dict:
    return response.json()["error"]["details"]


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"{T}?stauts=draft", "stauts"),  # a typo is not "no filter"
        (f"{T}/lesson?=", ""),  # a nameless parameter, as a fuzzer sends it
        (f"{T}?page=1&page=2", "page"),  # which one would count?
        ("/api/v1/profiles?learning_style=visual&learning_style=reading", "learning_style"),
        (f"{T}?status=", "status"),  # an empty enum value is not "no filter" either
        ("/api/v1/ab-tests?status=", "status"),
        ("/api/v1/profiles?learning_style=", "learning_style"),
        (f"{T}?ordering=bogus", "ordering"),
        (f"{T}?ordering=name,", "ordering"),
        (f"{T}?is_active=", "is_active"),
        (f"{T}?is_active=1", "is_active"),  # the schema says a boolean: true or false
        (f"{T}/lesson?label=Prod", "label"),
        (f"{T}/lesson/suggestions?label=production", "label"),  # suggestions take `version` only
        ("/api/v1/analytics/usage?interval=", "interval"),
        ("/api/v1/analytics/usage?to=", "to"),  # absent is "now"; empty is not a date-time
    ],
)
def test_query_parameters_outside_the_document_are_400_naming_them(reader, lesson, url, field):
    response = reader.get(url)
    assert (response.status_code, code_of(response)) == (400, "validation_error"), response.content
    assert field in details(response)


@pytest.mark.parametrize(
    "url",
    [
        f"{T}?status=published&ordering=-priority,name&is_active=true&page=1&page_size=5",
        f"{T}?tags=a,b&language=en&search=x",
        f"{T}?ordering=",  # an empty list
        "/api/v1/profiles?learning_style=visual&difficulty_level=advanced",
        "/api/v1/ab-tests?status=draft",
        f"{T}/lesson?version=2&label=production",
        f"{T}/lesson?label=latest&version=2",
        "/api/v1/analytics/usage?interval=hour",
    ],
)
def test_documented_query_parameters_are_accepted(reader, lesson, url):
    response = reader.get(url)
    assert response.status_code == 200, response.content


def test_a_version_and_a_label_that_disagree_are_409(reader, lesson):
    assert reader.get(f"{T}/lesson?version=2&label=production").json()["version"] == 2
    response = reader.get(f"{T}/lesson?version=1&label=production")
    assert (response.status_code, code_of(response)) == (409, "conflict")
    assert details(response) == {"label": ["Points at version 2."]}
    assert code_of(reader.get(f"{T}/lesson?version=1&label=staging")) == "not_found"


def test_the_check_comes_after_authentication(client, lesson):
    response = client.get(f"{T}?stauts=draft")
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"status": ""}, "status"),
        ({"status": "bogus"}, "status"),
        ({"ordering": ["name", ""]}, "ordering"),
        ({"ordering": "name,"}, "ordering"),
        ({"ordering": ""}, "ordering"),
        ({"ordering": ["priority", 1]}, "ordering"),
        ({"is_active": ""}, "is_active"),
        ({"is_active": "True"}, "is_active"),
    ],
)
def test_search_filters_outside_their_schema_are_400(reader, lesson, filters, field):
    response = reader.post(f"{T}/search", {"filters": filters}, format="json")
    assert (response.status_code, code_of(response)) == (400, "validation_error"), response.content
    assert field in details(response)["filters"]


@pytest.mark.parametrize(
    "filters",
    [
        {"status": "published", "ordering": ["-priority", "key"], "is_active": True},
        {"ordering": "-priority,key", "is_active": "false"},
        {"ordering": []},
    ],
)
def test_search_filters_in_their_schema_are_accepted(reader, lesson, filters):
    response = reader.post(f"{T}/search", {"filters": filters}, format="json")
    assert response.status_code == 200, response.content


@pytest.mark.parametrize("tag", [" science", "science ", "\tscience", "science\n", "x\x1c", "\x85x", "a,b", ""])
def test_a_tag_with_surrounding_space_or_a_comma_is_400(writer, lesson, tag):
    response = writer.patch(f"{T}/lesson", {"tags": [tag]}, format="json")
    assert (response.status_code, code_of(response)) == (400, "validation_error"), response.content
    assert "tags" in details(response)


@pytest.mark.parametrize("tag", ["science", "earth science", "x\ufeff", "é", "a" * 64])
def test_a_tag_without_surrounding_space_is_stored_as_sent(writer, lesson, tag):
    response = writer.patch(f"{T}/lesson", {"tags": [tag]}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["tags"] == [tag]


@pytest.mark.parametrize("split", [0, 1, -0.5, 1.5])
def test_an_ab_test_traffic_split_is_strictly_between_0_and_1_as_the_schema_says(client, writer, lesson, split):
    body = {"name": "T", "template_a": "lesson", "template_b": "lesson", "version_a": 1, "version_b": 2}
    response = writer.post("/api/v1/ab-tests", {**body, "traffic_split": split}, format="json")
    assert (response.status_code, code_of(response)) == (400, "validation_error")
    schema = client.get("/api/schema/?format=json").json()["components"]["schemas"]["ABTestCreateRequest"]
    assert {"exclusiveMinimum": 0, "exclusiveMaximum": 1}.items() <= schema["properties"]["traffic_split"].items()


@pytest.fixture
def ab_test(writer, workspace, lesson):
    template_create(workspace=workspace, actor="t", key="short", name="Short", template="{{ topic }}")
    body = {"name": "T", "template_a": "lesson", "template_b": "short"}
    return writer.post("/api/v1/ab-tests", body, format="json").json()["test_id"]


@pytest.mark.parametrize("user_id", ["", "   ", "u" * 201])
def test_select_refuses_a_user_id_outside_its_schema(reader, ab_test, user_id):
    response = reader.get(f"/api/v1/ab-tests/{ab_test}/select", {"user_id": user_id})
    assert (response.status_code, code_of(response)) == (400, "validation_error")
    assert "user_id" in details(response)


def test_select_takes_a_user_id_as_sent(reader, ab_test):
    assert reader.get(f"/api/v1/ab-tests/{ab_test}/select", {"user_id": " u1"}).status_code == 200


def test_a_patch_without_status_changes_nothing(writer, ab_test):
    response = writer.patch(f"/api/v1/ab-tests/{ab_test}", {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "active"


@pytest.mark.parametrize("value", [False, True, "0.5", [1]])
def test_numbers_are_json_numbers(reader, ab_test, value):
    """DRF would read `false` as 0 and "0.5" as 0.5; the schema says a number."""
    reader.get(f"/api/v1/ab-tests/{ab_test}/select", {"user_id": "u1"})
    body = {"user_id": "u1", "metric": "effectiveness", "value": value}
    response = reader.post(f"/api/v1/ab-tests/{ab_test}/metrics", body, format="json")
    assert (response.status_code, code_of(response)) == (400, "validation_error")
    assert "value" in details(response)
    body = {"user_id": "u1", "metric": "effectiveness", "value": 1}
    assert reader.post(f"/api/v1/ab-tests/{ab_test}/metrics", body, format="json").status_code == 201


@pytest.mark.parametrize("metrics", [{"a": False}, {"a": "1"}, {"a": None}])
def test_feedback_metrics_are_numbers(reader, lesson, metrics):
    generated = reader.post(
        "/api/v1/prompts/generate", {"template_id": "lesson", "context": {"topic": "x"}}, format="json"
    ).json()
    response = reader.post(f"/api/v1/prompts/{generated['prompt_id']}/feedback", {"metrics": metrics}, format="json")
    assert (response.status_code, code_of(response)) == (400, "validation_error")
    assert "metrics" in details(response)
