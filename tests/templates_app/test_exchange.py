"""Prompts as code: GET /export and POST /import (plan, dry run, atomic apply, bad files)."""

import itertools
import json

import pytest
import yaml

from promptconfig.events.models import Event
from templates_app.models import PromptTemplate
from templates_app.services import (
    label_delete,
    label_set,
    relationship_add,
    template_create,
    template_fork,
    template_set_lifecycle,
    template_update,
)
from tests.factories import WorkspaceFactory
from tests.support.api import answer

EXPORT = "/api/v1/export"
IMPORT = "/api/v1/import"

pytestmark = pytest.mark.postgres


def seed(workspace) -> None:
    """Includes, several versions and labels, every status, two languages, relationships, a fork."""
    create = template_create
    create(workspace=workspace, actor="t", key="header", name="Header", template="You are a tutor.\n")
    create(
        workspace=workspace,
        actor="t",
        key="lesson",
        name="Lesson",
        template="{% include 'header' %}\nTeach {{ topic }}.",
        tags=["edu", "core"],
        metadata={"b": 1, "a": {"z": [1, 2], "y": None}},
        priority=5,
        node_name="teach",
        category="lessons",
        description="Multi\nline description: with colon",
        variable_schema={"type": "object", "properties": {"topic": {"type": "string"}}},
        model_config={"provider": "openai", "model": "gpt-4o", "params": {"temperature": 0.2}},
    )
    lesson = PromptTemplate.objects.get(workspace=workspace, key="lesson")
    template_update(lesson, actor="t", template="{% include 'header' %}\nTeach {{ topic }} in steps.", change_note="v2")
    template_update(lesson, actor="t", template="Draft v3 {{ topic }}", publish=False, change_note="v3")
    label_set(template=lesson, name="staging", number=3, actor="t")
    create(workspace=workspace, actor="t", key="lesson", language="de", name="Lektion", template="Lehre {{ topic }}.")
    create(
        workspace=workspace, actor="t", key="draft", name="Draft", template="  leading spaces\ttab  \n", status="draft"
    )
    old = create(workspace=workspace, actor="t", key="old", name="Old", template="Old {{ x }}")
    template_set_lifecycle(template=old, status="deprecated", actor="t")
    gone = create(workspace=workspace, actor="t", key="gone", name="Gone", template="Gone")
    template_set_lifecycle(template=gone, status="deprecated", actor="t")
    template_set_lifecycle(template=gone, status="archived", actor="t")
    relationship_add(template=lesson, target_key="old", kind="alternative", actor="t")
    template_fork(template=old, new_key="newer", actor="t")
    # An includer that sorts before what it includes: the import must create `zz_footer` first.
    create(workspace=workspace, actor="t", key="zz_footer", name="Footer", template="Thanks.")
    create(workspace=workspace, actor="t", key="aa_page", name="Page", template="Hi {% include 'zz_footer' %}")


def export(client, **params) -> str:
    response = client.get(EXPORT, params)
    assert response.status_code == 200, response.content
    return response.content.decode()


def post_import(client, text: str, *, dry_run: bool = False, content_type: str = "application/yaml"):
    url = IMPORT + ("?dry_run=true" if dry_run else "")
    return client.generic("POST", url, text.encode(), content_type=content_type)


@pytest.mark.parametrize("versions", ["served", "all"])
def test_round_trip_into_an_empty_workspace_gives_the_same_bytes(make_client, versions):
    source, target = WorkspaceFactory(), WorkspaceFactory()
    seed(source)
    exporter, importer = make_client(source, "write"), make_client(target, "write")
    first = export(exporter, versions=versions)
    assert first == export(exporter, versions=versions)  # stable
    response = post_import(importer, first)
    assert response.status_code == 200, response.content
    plan = response.json()
    assert plan["applied"] is True and plan["dry_run"] is False
    assert {row["action"] for row in plan["plan"]} == {"create"}
    assert export(importer, versions=versions) == first
    again = post_import(importer, first).json()  # importing what was just exported changes nothing
    assert {row["action"] for row in again["plan"]} == {"unchanged"}, again
    assert export(importer, versions=versions) == first
    lesson = PromptTemplate.objects.get(workspace=target, key="lesson", language="en")
    events = Event.objects.filter(subject_kind="template", subject_pk=lesson.pk).count()
    post_import(importer, first)
    assert Event.objects.filter(subject_kind="template", subject_pk=lesson.pk).count() == events


def test_export_document_shape_and_json(writer, workspace):
    seed(workspace)
    document = yaml.safe_load(export(writer))
    assert document["format"] == "promptconfig/v1"
    keys = [(t["key"], t["language"]) for t in document["templates"]]
    assert keys == sorted(keys) and ("gone", "en") in keys
    lesson = next(t for t in document["templates"] if (t["key"], t["language"]) == ("lesson", "en"))
    assert list(lesson)[:2] == ["key", "language"]
    assert lesson["template"] == "{% include 'header' %}\nTeach {{ topic }} in steps."  # served, not the draft v3
    assert lesson["tags"] == ["core", "edu"] and lesson["node_name"] == "teach" and lesson["priority"] == 5
    assert lesson["model_config"]["model"] == "gpt-4o" and lesson["variable_schema"]["type"] == "object"
    assert lesson["relationships"] == [{"kind": "alternative", "target": "old"}]
    text = export(writer)
    assert "Teach {{ topic }} in steps." in text and "template: |" in text  # literal blocks for bodies
    response = writer.get(EXPORT, {"format": "json", "templates": "lesson,old", "versions": "all"})
    assert response["Content-Type"] == "application/json"
    as_json = json.loads(response.content)
    assert [t["key"] for t in as_json["templates"]] == ["lesson", "lesson", "old"]
    versions = as_json["templates"][0]["versions"]
    assert [v["number"] for v in versions] == [1] and versions[0]["labels"] == ["production"]  # de
    en = as_json["templates"][1]["versions"]
    assert [(v["number"], v["labels"]) for v in en] == [(1, []), (2, ["production"]), (3, ["staging"])]
    assert (
        response.content == writer.get(EXPORT, {"format": "json", "templates": "lesson,old", "versions": "all"}).content
    )


def test_export_errors(writer, reader, make_client, workspace):
    seed(workspace)
    missing = writer.get(EXPORT, {"templates": "lesson,nope"})
    assert answer(missing) == (404, "not_found") and missing.json()["error"]["details"] == {"templates": ["nope"]}
    assert answer(writer.get(EXPORT, {"versions": "some"})) == (400, "validation_error")
    assert answer(writer.get(EXPORT, {"format": "xml"})) == (400, "validation_error")
    assert answer(writer.get(EXPORT + "?format=")) == (400, "validation_error")  # blank is not "not given"
    blank = writer.generic(
        "POST", IMPORT + "?dry_run=", b"format: promptconfig/v1\ntemplates: []\n", "application/yaml"
    )
    assert answer(blank) == (400, "validation_error")
    too_many = ",".join(f"k{n}" for n in range(201))
    assert answer(writer.get(EXPORT, {"templates": too_many})) == (400, "validation_error")
    assert answer(reader.get(EXPORT)) == (403, "permission_denied")  # write scope, as import
    other = make_client(scope="write")
    assert yaml.safe_load(export(other)) == {"format": "promptconfig/v1", "templates": []}


def test_plan_new_version_unchanged_and_conflicts(writer, workspace):
    seed(workspace)
    document = yaml.safe_load(export(writer))
    by_key = {(t["key"], t["language"]): t for t in document["templates"]}
    by_key["header", "en"]["template"] = "You are a patient tutor.\n"
    by_key["old", "en"]["tags"] = ["legacy"]
    by_key["draft", "en"]["status"] = "archived"  # draft -> archived is not a legal move
    by_key["gone", "en"]["template"] = "Back"  # archived: cannot serve another version
    document["templates"].append({"key": "fresh", "name": "Fresh", "template": "{% include 'header' %} new"})
    text = yaml.safe_dump(document)
    dry = post_import(writer, text, dry_run=True)
    assert dry.status_code == 200
    plan = {(row["key"], row["language"]): row for row in dry.json()["plan"]}
    assert dry.json()["applied"] is False and dry.json()["dry_run"] is True
    assert plan["header", "en"] == {
        "key": "header",
        "language": "en",
        "action": "new_version",
        "reason": "changes: template",
    }
    assert plan["old", "en"]["action"] == "new_version" and "tags" in plan["old", "en"]["reason"]
    assert plan["draft", "en"]["action"] == "conflict" and "draft to archived" in plan["draft", "en"]["reason"]
    assert plan["gone", "en"]["action"] == "conflict" and "archived" in plan["gone", "en"]["reason"]
    assert plan["fresh", "en"]["action"] == "create" and plan["lesson", "de"]["action"] == "unchanged"
    refused = post_import(writer, text)
    assert answer(refused) == (409, "conflict")
    assert refused.json()["error"]["details"]["applied"] is False
    assert len(refused.json()["error"]["details"]["plan"]) == len(plan)
    assert not PromptTemplate.objects.filter(workspace=workspace, key="fresh").exists()  # nothing applied
    by_key["draft", "en"]["status"] = "published"
    by_key["gone", "en"]["status"] = "draft"  # restore, then serve the new body
    applied = post_import(writer, yaml.safe_dump(document))
    assert applied.status_code == 200, applied.content
    assert applied.json()["applied"] is True
    header = writer.get("/api/v1/templates/header").json()
    assert header["template"] == "You are a patient tutor.\n" and header["version"] == 2
    gone = writer.get("/api/v1/templates/gone").json()
    assert gone["status"] == "draft" and gone["template"] == "Back"
    assert writer.get("/api/v1/templates/fresh").json()["template"].endswith("new")
    assert {row["action"] for row in post_import(writer, yaml.safe_dump(document)).json()["plan"]} == {"unchanged"}


def test_versions_all_conflicts_when_histories_differ(writer, make_client, workspace):
    seed(workspace)
    text = export(writer, versions="all")
    other_ws = WorkspaceFactory()
    template_create(workspace=other_ws, actor="t", key="header", name="Header", template="Something else\n")
    other = make_client(other_ws, "write")
    plan = post_import(other, text, dry_run=True).json()["plan"]
    header = next(row for row in plan if row["key"] == "header")
    assert header["action"] == "conflict" and "version 1 differs" in header["reason"]
    lesson = PromptTemplate.objects.get(workspace=workspace, key="lesson", language="en")
    template_update(lesson, actor="t", template="v4", publish=False)
    plan = post_import(writer, text, dry_run=True).json()["plan"]
    row = next(row for row in plan if (row["key"], row["language"]) == ("lesson", "en"))
    assert row["action"] == "conflict" and "up to v4" in row["reason"]


def bad(client, text: str, content_type: str = "application/yaml") -> dict:
    response = post_import(client, text, content_type=content_type)
    assert answer(response) == (400, "validation_error"), response.content
    return response.json()["error"]


def test_bad_files_name_the_line_and_field(writer, workspace):
    template_create(workspace=workspace, actor="t", key="base", name="Base", template="Base")
    head = "format: promptconfig/v1\ntemplates:\n"
    error = bad(writer, head + "- key: a\n  name: [unclosed\n")
    assert "line" in error["message"] and "document" in error["details"]
    error = bad(writer, head + "- key: a\n  name: A\n  template: x\n  colour: red\n")
    assert error["details"] == {"templates[0].colour": ["Unknown field."]} and "line 6" in error["message"]
    error = bad(writer, head + "- key: a\n  name: A\n  template: |\n    ok\n    {% if %}\n")
    assert "templates[0].template" in error["details"] and "line 5" in error["message"]
    error = bad(writer, head + "- key: a\n  name: A\n  template: x\n  variable_schema: {type: 5}\n")
    assert list(error["details"]) == ["templates[0].variable_schema"] and "line 6" in error["message"]
    error = bad(writer, head + "- key: a\n  name: A\n  template: \"{% include 'nowhere' %}\"\n")
    assert "nowhere" in error["message"] and "templates[0].template" in error["details"]
    ok = post_import(writer, head + "- key: a\n  name: A\n  template: \"{% include 'base' %}\"\n", dry_run=True)
    assert ok.status_code == 200 and ok.json()["plan"][0]["action"] == "create"
    twice = post_import(writer, head + "- key: a\n  name: A\n  template: x\n- key: a\n  name: B\n  template: y\n")
    assert answer(twice) == (409, "conflict")
    assert twice.json()["error"]["details"]["plan"][1]["reason"] == (
        "given twice in the document (templates[0] and templates[1])"
    )
    error = bad(writer, head + "- key: search\n  name: A\n  template: x\n")
    assert error["details"] == {"templates[0].key": ["'search' is a reserved key."]}
    error = bad(writer, "format: other\ntemplates: []\n")
    assert error["details"] == {"format": ["Must be 'promptconfig/v1'."]}
    bad(writer, head + "- key: a\n  name: A\n  template: x\n  versions: []\n")
    bad(writer, head + "- key: a\n  name: A\n  template: x\n  created: 2024-01-01\n")  # a date is not JSON
    bad(writer, head + "- !!python/object:os.system {}\n")  # safe loading: no object tags
    bad(writer, "- just\n- a list\n")
    bad(writer, "")
    error = bad(writer, '{"format": "promptconfig/v1", "templates": [}', content_type="application/json")
    assert "line 1" in error["message"]
    error = bad(writer, json.dumps({"format": "promptconfig/v1", "templates": [{"key": "a"}]}), "application/json")
    assert "templates[0].name" in error["details"]


def test_bombs_size_and_scope(writer, reader, settings):
    names = "abcdefghij"
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]\n" for previous, name in itertools.pairwise(names)
    )
    assert answer(post_import(writer, bomb)) == (400, "validation_error")
    settings.MAX_REQUEST_BYTES = 200
    big = "format: promptconfig/v1\ntemplates: []\n" + "#" * 300 + "\n"
    assert answer(post_import(writer, big)) == (413, "payload_too_large")
    settings.MAX_REQUEST_BYTES = 1024 * 1024
    assert answer(post_import(reader, "format: promptconfig/v1\ntemplates: []\n")) == (403, "permission_denied")
    assert answer(post_import(writer, "x", content_type="text/csv")) == (415, "unsupported_media_type")
    empty = post_import(writer, "format: promptconfig/v1\ntemplates: []\n")
    assert empty.status_code == 200 and empty.json() == {"dry_run": False, "applied": True, "plan": []}


def test_versions_all_brings_a_workspace_up_to_date(make_client):
    source, target = WorkspaceFactory(), WorkspaceFactory()
    seed(source)
    exporter, importer = make_client(source, "write"), make_client(target, "write")
    assert post_import(importer, export(exporter, versions="all")).status_code == 200
    lesson = PromptTemplate.objects.get(workspace=source, key="lesson", language="en")
    template_update(lesson, actor="t", template="v4 {{ topic }}", publish=False, change_note="v4")
    label_set(template=lesson, name="production", number=4, actor="t")
    label_set(template=lesson, name="canary", number=1, actor="t")
    relationship_add(template=lesson, target_key="header", kind="references", actor="t")
    header = PromptTemplate.objects.get(workspace=source, key="header")
    template_update(header, actor="t", description="The shared header")
    newer = export(exporter, versions="all")
    plan = {(row["key"], row["language"]): row for row in post_import(importer, newer, dry_run=True).json()["plan"]}
    assert plan["lesson", "en"]["action"] == "new_version"
    assert plan["lesson", "en"]["reason"] == "changes: versions 4-4, labels, relationships"
    assert plan["header", "en"] == {
        "key": "header",
        "language": "en",
        "action": "new_version",
        "reason": "changes: description",
    }
    assert post_import(importer, newer).json()["applied"] is True
    assert export(importer, versions="all") == newer
    served = importer.get("/api/v1/templates/lesson").json()
    assert served["version"] == 4 and served["labels"] == {"production": 4, "staging": 3, "canary": 1, "latest": 4}
    # A label the document no longer has is removed; the served version moves back.
    label_set(template=lesson, name="production", number=2, actor="t")
    label_delete(template=lesson, name="canary", actor="t")
    older_labels = export(exporter, versions="all")
    assert post_import(importer, older_labels).status_code == 200
    assert importer.get("/api/v1/templates/lesson").json()["labels"] == {"production": 2, "staging": 3, "latest": 4}
    assert export(importer, versions="all") == older_labels


def test_one_import_call_takes_at_most_import_max_versions(writer, workspace, settings):
    """Each version is compiled, checked and written within the request: 1,000 templates held a worker past its
    timeout (gunicorn's HTML 500). Above IMPORT_MAX_VERSIONS the call is refused before any of that."""
    settings.IMPORT_MAX_VERSIONS = 3
    document = {
        "format": "promptconfig/v1",
        "templates": [
            {
                "key": "one",
                "name": "One",
                "versions": [{"number": 1, "template": "a"}, {"number": 2, "template": "b", "labels": ["production"]}],
            },
            {"key": "two", "name": "Two", "template": "c"},
        ],
    }
    response = post_import(writer, json.dumps(document), content_type="application/json")
    assert response.status_code == 200, response.content
    document["templates"].append({"key": "three", "name": "Three", "template": "d"})
    refused = post_import(writer, json.dumps(document).replace('"one"', '"uno"'), content_type="application/json")
    assert answer(refused) == (413, "payload_too_large")
    assert "IMPORT_MAX_VERSIONS" in refused.json()["error"]["message"]
    assert not PromptTemplate.objects.filter(workspace=workspace, key__in=["uno", "three"]).exists()
    malformed = {"format": "promptconfig/v1", "templates": [{"key": "x", "name": "X", "versions": 5}, "text"]}
    assert answer(post_import(writer, json.dumps(malformed), content_type="application/json"))[1] == "validation_error"
