"""Bulk operations over templates: POST /bulk/templates, GET /bulk/jobs[/{id}] (Celery eager here; the worker
test covers a real worker)."""

import uuid

import pytest

from promptconfig.events.models import Event
from templates_app.bulk import bulk_job_create, bulk_job_run
from templates_app.models import BulkJob, PromptTemplate
from templates_app.services import template_create
from tests.support.api import answer

BULK = "/api/v1/bulk/templates"
JOBS = "/api/v1/bulk/jobs"

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("eager_tasks")]  # jobs run in the request


def run(client, operation: str, items: list, **extra) -> dict:
    response = client.post(BULK, {"operation": operation, "items": items, **extra}, format="json")
    assert response.status_code == 202, response.content
    queued = response.json()
    assert set(queued) == {"job_id", "status"}
    job = client.get(f"{JOBS}/{queued['job_id']}")
    assert job.status_code == 200, job.content
    return job.json()


def seed(workspace, *keys: str, **fields) -> None:
    for key in keys:
        template_create(workspace=workspace, actor="t", key=key, name=key.title(), template=f"About {key}.", **fields)


def test_bulk_create_applies_each_item_on_its_own(writer, workspace):
    seed(workspace, "taken")
    items = [
        {"key": "alpha", "name": "Alpha", "template": "A {{ topic }}", "tags": ["x"]},
        {"key": "taken", "name": "Taken", "template": "dup"},
        {"name": "Broken", "template": "{% if %}"},
        {"key": "beta", "name": "Beta", "template": "B", "bogus": 1},
        {"key": "Bad Key", "name": "Bad", "template": "x"},
        {"name": "Gamma Ray", "template": "G"},
    ]
    job = run(writer, "create", items)
    assert job["status"] == "partially_failed"
    assert (job["total"], job["done"], job["failed"], job["progress"]) == (6, 6, 4, 1.0)
    assert job["finished_at"] and job["created_at"] and job["operation"] == "create" and job["dry_run"] is False
    results = job["results"]
    assert [(r["index"], r["key"], r["ok"]) for r in results] == [
        (0, "alpha", True),
        (1, "taken", False),
        (2, "broken", False),
        (3, "beta", False),
        (4, "Bad Key", False),
        (5, "gamma_ray", True),
    ]
    assert results[0]["error"] is None
    assert results[1]["error"]["code"] == "conflict"
    assert results[2]["error"]["code"] == "template_error"
    assert results[3]["error"] == {
        "code": "validation_error",
        "message": "Invalid input: bogus.",
        "details": {"bogus": ["Unknown field."]},
    }
    assert results[4]["error"]["code"] == "validation_error"
    alpha = PromptTemplate.objects.get(workspace=workspace, key="alpha")
    # The single-item path: version 1, published, its history.
    assert alpha.served_version.number == 1 and alpha.status == "published"
    history = Event.objects.filter(subject_kind="template", subject_pk=alpha.pk)
    assert list(history.values_list("type", flat=True)) == [
        "template.created",
        "template.version_created",
        "template.published",
    ]
    assert history.first().actor == "api:write key"
    assert not PromptTemplate.objects.filter(workspace=workspace, key__in=["broken", "beta"]).exists()


def test_update_tags_set_lifecycle_publish_and_delete(writer, workspace):
    seed(workspace, "a", "b", tags=["old", "keep"])
    job = run(
        writer, "update_tags", [{"key": "a", "add": ["new", "keep"], "remove": ["old"]}, {"key": "zz", "add": ["x"]}]
    )
    assert job["status"] == "partially_failed" and job["results"][1]["error"]["code"] == "not_found"
    a = PromptTemplate.objects.get(workspace=workspace, key="a")
    assert sorted(a.tags.values_list("name", flat=True)) == ["keep", "new"]
    assert Event.objects.filter(subject_kind="template", subject_pk=a.pk, type="template.updated").count() == 1

    job = run(writer, "update_tags", [{"key": "a"}])
    assert job["status"] == "failed" and job["results"][0]["error"]["details"] == {
        "add": ["Give tags to add or to remove."]
    }

    job = run(
        writer,
        "set_lifecycle",
        [{"key": "a", "status": "deprecated", "reason": "old"}, {"key": "b", "status": "draft"}],
    )
    assert [r["ok"] for r in job["results"]] == [True, False]
    assert job["results"][1]["error"]["code"] == "conflict"
    assert PromptTemplate.objects.get(workspace=workspace, key="a").status == "deprecated"

    writer.patch("/api/v1/templates/b", {"template": "v2", "publish": False}, format="json")
    job = run(
        writer,
        "publish",
        [{"key": "b", "version": 2}, {"key": "b", "language": "de", "version": 1}, {"key": "a", "version": 9}],
    )
    assert [r["ok"] for r in job["results"]] == [True, False, False]
    assert PromptTemplate.objects.get(workspace=workspace, key="b").served_version.number == 2

    job = run(writer, "delete", [{"key": "a"}, {"key": "a"}])
    assert job["status"] == "partially_failed" and job["results"][1]["error"]["code"] == "not_found"
    assert writer.get("/api/v1/templates/a").status_code == 404
    assert PromptTemplate.objects.get(workspace=workspace, key="a").versions.count() == 1  # soft: versions kept


def test_dry_run_validates_everything_and_changes_nothing(writer, workspace):
    seed(workspace, "taken")
    items = [
        {"key": "one", "name": "One", "template": "1"},
        {"key": "two", "name": "Two", "template": "{% include 'one' %} and 2"},  # sees the earlier item
        {"key": "taken", "name": "T", "template": "x"},
    ]
    job = run(writer, "create", items, dry_run=True)
    assert job["dry_run"] is True and job["status"] == "partially_failed"
    assert [r["ok"] for r in job["results"]] == [True, True, False]
    assert not PromptTemplate.objects.filter(workspace=workspace, key__in=["one", "two"]).exists()
    assert writer.get("/api/v1/templates/one").status_code == 404  # nothing cached from the rolled-back run
    job = run(writer, "delete", [{"key": "taken"}], dry_run=True)
    assert job["status"] == "succeeded"
    assert writer.get("/api/v1/templates/taken").status_code == 200


def test_request_errors(writer, reader, workspace):
    assert answer(writer.post(BULK, {"operation": "rename", "items": [{}]}, format="json")) == (400, "validation_error")
    assert answer(writer.post(BULK, {"operation": "delete", "items": []}, format="json")) == (400, "validation_error")
    assert answer(writer.post(BULK, {"operation": "delete", "items": {}}, format="json")) == (400, "validation_error")
    not_objects = writer.post(BULK, {"operation": "delete", "items": ["a", None]}, format="json")
    assert answer(not_objects) == (400, "validation_error")
    too_many = writer.post(BULK, {"operation": "delete", "items": [{"key": "a"}] * 1001}, format="json")
    assert answer(too_many) == (400, "validation_error")
    assert "1000" in too_many.json()["error"]["details"]["items"][0]
    assert answer(writer.post(BULK, {"operation": "delete", "items": [{"key": "a"}], "x": 1}, format="json")) == (
        400,
        "validation_error",
    )
    assert answer(reader.post(BULK, {"operation": "delete", "items": [{"key": "a"}]}, format="json")) == (
        403,
        "permission_denied",
    )
    assert answer(writer.get(f"{JOBS}/{uuid.uuid4()}")) == (404, "not_found")
    assert answer(writer.get(f"{JOBS}/not-a-uuid")) == (404, "not_found")


def test_jobs_list_and_detail_are_per_workspace(writer, reader, make_client, workspace):
    seed(workspace, "a")
    job = run(writer, "update_tags", [{"key": "a", "add": ["t"]}])
    assert answer(reader.get(JOBS)) == (403, "permission_denied")  # bulk is write scope, reads too
    listing = writer.get(JOBS).json()
    assert listing["count"] == 1 and listing["results"][0]["id"] == job["id"]
    assert listing["results"][0]["results"] == [{"index": 0, "key": "a", "language": "en", "ok": True, "error": None}]
    other = make_client(scope="admin")
    assert other.get(JOBS).json()["count"] == 0
    assert answer(other.get(f"{JOBS}/{job['id']}")) == (404, "not_found")


def test_a_job_over_templates_a_running_job_changes_is_refused(writer, workspace):
    seed(workspace, "a", "b", "c")
    running = bulk_job_create(workspace=workspace, actor="t", operation="delete", items=[{"key": "a"}, {"key": "b"}])
    response = writer.post(BULK, {"operation": "update_tags", "items": [{"key": "b", "add": ["x"]}]}, format="json")
    assert answer(response) == (409, "conflict")
    assert response.json()["error"]["details"] == {"templates": ["b (en)"]}
    # Other templates, and dry runs, are not held up.
    assert run(writer, "update_tags", [{"key": "c", "add": ["x"]}])["status"] == "succeeded"
    assert run(writer, "delete", [{"key": "b"}], dry_run=True)["status"] == "succeeded"
    assert bulk_job_run(running.pk) is False
    assert BulkJob.objects.get(pk=running.pk).status == "succeeded"
    assert run(writer, "update_tags", [{"key": "c", "add": ["y"]}])["status"] == "succeeded"


def test_a_resumed_job_skips_what_it_applied(workspace):
    seed(workspace, "a", "b", "c")
    job = bulk_job_create(
        workspace=workspace,
        actor="t",
        operation="set_lifecycle",
        items=[{"key": k, "status": "deprecated"} for k in "abc"],
    )
    assert bulk_job_run(job.pk, budget_seconds=0) is True  # one item per slice at a zero budget
    job.refresh_from_db()
    assert (job.status, job.done, job.progress) == ("running", 1, round(1 / 3, 4))
    while bulk_job_run(job.pk, budget_seconds=0):
        pass
    job.refresh_from_db()
    assert (job.status, job.done, job.failed) == ("succeeded", 3, 0)
    assert Event.objects.filter(workspace=workspace, type="template.lifecycle_changed").count() == 3
    assert bulk_job_run(job.pk) is False  # a finished job is left alone


def test_update_tags_keeps_a_template_within_50_tags(writer, workspace):
    """Each item may add 50 tags, but the template's own limit holds over all of them: it reached 147 tags, which
    its own PATCH refuses and an import of the workspace's export then refused too."""
    seed(workspace, "a", tags=[f"t{index}" for index in range(40)])
    job = run(
        writer,
        "update_tags",
        [{"key": "a", "add": [f"u{index}" for index in range(10)]}, {"key": "a", "add": ["one_too_many"]}],
    )
    assert [result["ok"] for result in job["results"]] == [True, False]
    assert job["results"][1]["error"]["code"] == "validation_error" and "tags" in job["results"][1]["error"]["details"]
    assert PromptTemplate.objects.get(workspace=workspace, key="a").tags.count() == 50
