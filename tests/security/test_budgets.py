"""No key, template or request can hold a worker past its budget: catastrophic schema patterns, compile bombs,
missing-variable searches, batches of expensive renders and feedback with thousands of metrics.

The payloads are data (tests/security/corpus/*.json): the next one is one line there."""

import json
import time
from pathlib import Path

import pytest
from django.conf import settings

from abtests.models import MetricEvent
from abtests.services import ab_test_create
from generation.models import Generation
from templates_app.services import template_create
from tests.support.api import answer

CORPUS = Path(__file__).parent / "corpus"
T = "/api/v1/templates"
GEN = "/api/v1/prompts/generate"


def corpus(name: str) -> list:
    return json.loads((CORPUS / name).read_text())


def ids(cases: list[dict]) -> list[str]:
    return [case["name"] for case in cases]


def timed(call):
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def budget_seconds() -> float:
    return settings.RENDER_TIME_BUDGET_MS / 1000


# --- schemas: patterns run on RE2, refused at save when RE2 cannot run them ---------------------------------------
@pytest.mark.parametrize("case", corpus("schemas.json"), ids=ids(corpus("schemas.json")))
def test_schema_patterns_cannot_stall_a_render(case, writer, reader):
    template = case.get("template", "About {{ topic }}.")
    body = {"key": "lesson", "name": "L", "template": template, "variable_schema": case["schema"]}
    saved, took = timed(lambda: writer.post(T, body, format="json"))
    assert took < 1
    if case["expect"] == "refused":
        assert answer(saved) == (400, "validation_error")
        assert case["names"] in saved.json()["error"]["details"]["variable_schema"][0]
        return
    assert saved.status_code == 201, saved.content
    generated, took = timed(
        lambda: reader.post(GEN, {"template_id": "lesson", "context": case["variables"]}, format="json")
    )
    assert took < 1
    if case["expect"] == "invalid":
        assert answer(generated) == (422, "invalid_variables")
    else:
        assert generated.status_code == 200, generated.content


def test_the_clients_engine_runs_patterns_on_re2_too():
    from promptconfig_client.engine import Engine, InvalidVariables

    schema = {"type": "object", "properties": {"topic": {"type": "string", "pattern": "^(a+)+$"}}}
    started = time.monotonic()
    with pytest.raises(InvalidVariables):
        Engine().render("{{ topic }}", {"topic": "a" * 5000 + "!"}, schema=schema)
    assert time.monotonic() - started < 0.5


# --- templates: compile bombs refused at save, renders bounded by one deadline ----------------------------------
def build(spec: dict) -> str:
    if spec.get("numbered"):
        middle = "".join(spec["repeat"].replace("$", str(index)) for index in range(spec["times"]))
    else:
        middle = spec["repeat"] * spec["times"]
    return middle + spec.get("then", "") + spec.get("close", "") * spec["times"]


@pytest.mark.parametrize("case", corpus("templates.json"), ids=ids(corpus("templates.json")))
def test_template_bombs_are_refused_or_bounded(case, writer, reader):
    body = {"key": "bomb", "name": "B", "template": build(case["body"])}
    saved, took = timed(lambda: writer.post(T, body, format="json"))
    assert took < 1
    if case["expect"] == "refused":
        assert answer(saved) == (422, "template_error")
        return
    assert saved.status_code == 201, saved.content
    generated, took = timed(
        lambda: reader.post(GEN, {"template_id": "bomb", "context": case["variables"]}, format="json")
    )
    assert took < budget_seconds() + 0.3  # one render budget (and one operation past it) for the whole request
    if case["expect"] == "render_error":
        assert generated.status_code == 422 and generated.json()["error"]["code"] in (
            "template_error",
            "missing_variables",
        )
    else:
        assert generated.status_code == 200, generated.content


def test_a_batch_of_expensive_renders_shares_one_budget(writer, reader):
    slow = "{% for i in range(10000) %}{% for j in range(10000) %}{{ topic }}{% endfor %}{% endfor %}"  # never ends
    assert writer.post(T, {"key": "slow", "name": "S", "template": slow}, format="json").status_code == 201
    items = [{"template_id": "slow", "context": {"topic": f"t{index}"}} for index in range(100)]
    response, took = timed(lambda: reader.post(f"{GEN}/batch", {"requests": items}, format="json"))
    assert response.status_code == 200
    assert took < settings.BATCH_TIME_BUDGET_MS / 1000 + 1.5  # one batch budget (plus slack), not 100 x 250 ms
    codes = [item.get("error", {}).get("code") for item in response.json()["results"]]
    assert codes == ["template_error"] * 100  # each stopped by its own budget, or reached after the batch's


# --- feedback: capped, validated, written in one statement ---------------------------------------------------------
@pytest.fixture
def prompt_in_a_test(workspace, reader):
    for key in ("a", "b"):
        template_create(workspace=workspace, actor="t", key=key, name=key, template="About {{ topic }}.")
    ab_test_create(workspace=workspace, actor="t", name="t", template_a="a", template_b="b", target_metrics=["rating"])
    response = reader.post(GEN, {"template_id": "a", "user_id": "u1", "context": {"topic": "x"}}, format="json")
    assert response.json()["ab_test"] is not None
    return response.json()["prompt_id"]


def test_feedback_metrics_are_capped_and_named(reader, prompt_in_a_test):
    url = f"/api/v1/prompts/{prompt_in_a_test}/feedback"
    many = {f"m{index}": 1.0 for index in range(25_000)}
    response, took = timed(lambda: reader.post(url, {"metrics": many}, format="json"))
    assert answer(response) == (400, "validation_error") and took < 2
    over = {f"m{index}": 1.0 for index in range(settings.FEEDBACK_MAX_METRICS + 1)}
    assert answer(reader.post(url, {"metrics": over}, format="json")) == (400, "validation_error")
    for name in ("Bad", "1st", "with-dash", "x" * 65, ""):
        assert answer(reader.post(url, {"metrics": {name: 1}}, format="json")) == (400, "validation_error"), name
    assert MetricEvent.objects.count() == 0


def test_feedback_metrics_are_written_in_one_statement(reader, prompt_in_a_test, django_assert_max_num_queries):
    url = f"/api/v1/prompts/{prompt_in_a_test}/feedback"
    metrics = {f"metric_{index}": float(index) for index in range(settings.FEEDBACK_MAX_METRICS)}
    assert reader.post(url, {"rating": 4, "metrics": metrics}, format="json").status_code == 200
    assert MetricEvent.objects.filter(prompt_id=prompt_in_a_test).count() == settings.FEEDBACK_MAX_METRICS + 1
    with django_assert_max_num_queries(15) as captured:  # a fixed number, not one per metric
        again = reader.post(url, {"rating": 2, "metrics": {**metrics, "metric_0": 9.0}}, format="json")
    assert again.status_code == 200
    inserts = [query["sql"] for query in captured.captured_queries if "abtests_metricevent" in query["sql"]]
    assert len(inserts) == 1 and "ON CONFLICT" in inserts[0]
    values = dict(MetricEvent.objects.filter(prompt_id=prompt_in_a_test).values_list("metric", "value"))
    assert values["rating"] == 2 and values["metric_0"] == 9.0 and len(values) == settings.FEEDBACK_MAX_METRICS + 1
    assert Generation.objects.get(pk=prompt_in_a_test).rating == 2
