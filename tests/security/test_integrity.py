"""Data that went wrong: concurrent feedback, a template detail staler than its list, filters and query
parameters that gave 500s, and include chains that only failed when generated. The hostile filters and query
strings are data (tests/security/corpus/)."""

import json
from pathlib import Path

import pytest

from generation.models import Generation
from promptconfig_client.engine import TemplateError
from templates_app.models import PromptTemplate
from templates_app.services import template_create, template_update
from tests.support.api import answer
from tests.support.concurrency import all_at_once

CORPUS = Path(__file__).parent / "corpus"
T = "/api/v1/templates"
GEN = "/api/v1/prompts/generate"


def corpus(name: str) -> list:
    return json.loads((CORPUS / name).read_text())


@pytest.fixture
def lesson(workspace):
    return template_create(workspace=workspace, actor="t", key="lesson", name="L", template="About {{ topic }}.")


@pytest.mark.postgres
def test_concurrent_feedback_on_one_prompt_counts_once(transactional_db, make_client, workspace, lesson):
    reader = make_client(workspace, "read")
    prompt_id = reader.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json").json()[
        "prompt_id"
    ]
    clients = [make_client(workspace, "read") for _ in range(50)]
    ratings = [1 + index % 5 for index in range(50)]

    def rate(index: int) -> int:
        body = {"rating": ratings[index], "effectiveness_score": ratings[index] / 5}
        return clients[index].post(f"/api/v1/prompts/{prompt_id}/feedback", body, format="json").status_code

    results, errors = all_at_once(50, rate)
    assert errors == []
    assert set(results) == {200}
    template = PromptTemplate.objects.get(pk=lesson.pk)
    record = Generation.objects.get(pk=prompt_id)
    # One prompt, rated 50 times: the last rating replaced the others, it was counted once.
    assert template.rating_count == 1 and template.feedback_count == 1
    assert template.average_rating == record.rating and template.success_rate == pytest.approx(
        record.effectiveness_score
    )


def test_the_template_detail_is_never_staler_than_the_list(writer, reader, lesson):
    assert reader.get(f"{T}/lesson").json()["usage_count"] == 0  # cached from here on
    for _ in range(3):
        reader.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json")
    prompt_id = reader.post(GEN, {"template_id": "lesson", "context": {"topic": "y"}}, format="json").json()[
        "prompt_id"
    ]
    reader.post(f"/api/v1/prompts/{prompt_id}/feedback", {"rating": 4, "effectiveness_score": 0.5}, format="json")
    detail = reader.get(f"{T}/lesson").json()
    listed = next(item for item in reader.get(T).json()["results"] if item["key"] == "lesson")
    for field in ("usage_count", "success_rate", "average_rating"):
        assert detail[field] == listed[field], field
    assert detail["usage_count"] == 4 and detail["average_rating"] == 4


@pytest.mark.parametrize(
    "filters", corpus("search_filters.json"), ids=[json.dumps(f) for f in corpus("search_filters.json")]
)
def test_bad_search_filters_are_400_naming_the_filter(writer, lesson, filters):
    response = writer.post(f"{T}/search", {"filters": filters}, format="json")
    assert answer(response) == (400, "validation_error")
    assert "filters" in response.json()["error"]["details"]


def test_good_search_filters_still_work(writer, lesson):
    body = {"filters": {"is_active": True, "tags": [], "ordering": ["-priority", "key"], "status": "published"}}
    response = writer.post(f"{T}/search", body, format="json")
    assert response.status_code == 200 and [item["key"] for item in response.json()["results"]] == ["lesson"]


@pytest.mark.parametrize("path", corpus("query_params.json"))
def test_hostile_query_parameters_are_answered_never_500(writer, lesson, path):
    response = writer.get(path)
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        assert response.json()["error"]["code"] in ("validation_error", "not_found")


def test_includes_too_deep_through_the_includers_are_refused_when_saved(writer, workspace):
    # e1 includes e2 ... includes e6: five levels of includes below e1, the limit.
    for index in range(6, 0, -1):
        body = "leaf" if index == 6 else f"{{% include 'e{index + 1}' %}}"
        assert writer.post(T, {"key": f"e{index}", "name": "e", "template": body}, format="json").status_code == 201
    assert writer.post(GEN, {"template_id": "e1"}, format="json").status_code == 200
    # A sixth level below e6 would make e1 too deep: refused at save, naming the includer.
    assert writer.post(T, {"key": "e7", "name": "e", "template": "leaf"}, format="json").status_code == 201
    response = writer.patch(f"{T}/e6", {"template": "{% include 'e7' %}"}, format="json")
    assert answer(response) == (422, "template_error") and "e1" in response.json()["error"]["message"]
    assert writer.post(GEN, {"template_id": "e1"}, format="json").status_code == 200  # nothing changed
    # Saved without publishing it is fine (nothing serves it); publishing it is refused the same way.
    unpublished = {"template": "{% include 'e7' %}", "publish": False}
    assert writer.patch(f"{T}/e6", unpublished, format="json").status_code == 200
    response = writer.post(f"{T}/e6/versions/2/publish", format="json")
    assert answer(response) == (422, "template_error")


def test_an_include_cycle_through_the_includers_is_refused(writer, workspace):
    template_create(workspace=workspace, actor="t", key="b", name="b", template="B")
    template_create(workspace=workspace, actor="t", key="a", name="a", template="{% include 'b' %}")
    b = PromptTemplate.objects.get(key="b")
    with pytest.raises(TemplateError, match="cycle"):
        template_update(b, actor="t", template="{% include 'a' %}")
