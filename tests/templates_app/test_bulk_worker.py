"""A bulk job under a real Celery worker (Redis broker): killed mid-job, it resumes where it stopped."""

import contextlib
import signal
import uuid

import psycopg
import pytest
from rest_framework.test import APIClient

from promptconfig.events.models import Event
from promptconfig.workspaces.services import api_key_create
from templates_app.bulk import bulk_job_create
from templates_app.models import BulkItem, BulkJob, PromptTemplate, Tag, TemplateVersion
from templates_app.tasks import bulk_job_run_task
from tests.factories import WorkspaceFactory
from tests.support.servers import celery_worker, database_url_for_tests, wait_for, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.broker]


def waiting_to_insert_the_tag() -> int:
    """Sessions blocked inserting a tag (mid-transaction: not at COMMIT, which would complete after a kill)."""
    with psycopg.connect(database_url_for_tests(), autocommit=True) as observer:
        query = (
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database() "
            "AND query LIKE 'INSERT INTO \"templates_app_tag\"%%'"
        )
        return observer.execute(query).fetchone()[0]


def test_a_job_whose_worker_is_killed_resumes_without_applying_an_item_twice(transactional_db, tmp_path):
    workspace = WorkspaceFactory()
    items = [
        {
            "key": f"t{index}",
            "name": f"T{index}",
            "template": f"Body {index}",
            "tags": ["blocker"] if index == 3 else [],
        }
        for index in range(6)
    ]
    job = bulk_job_create(workspace=workspace, actor="api:ci", operation="create", items=items)
    _, key = api_key_create(workspace=workspace, name="poller", scope="write")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    queue = f"bulk-{uuid.uuid4().hex}"
    env = worker_env(
        queue, CELERY_TASK_TIME_LIMIT="3", CELERY_TASK_SOFT_TIME_LIMIT="2", CELERY_UNACKED_RESTORE_SECONDS="1"
    )
    with contextlib.closing(psycopg.connect(database_url_for_tests(), autocommit=False)) as blocker:
        # Another transaction is inserting the tag item 3 uses: the worker's insert of that tag waits on the unique
        # index, so it stops inside item 3, after the template's own rows were written.
        blocker.execute("INSERT INTO templates_app_tag (workspace_id, name) VALUES (%s, 'blocker')", [workspace.pk])
        with celery_worker(env, log_path=tmp_path / "first.log") as first:
            bulk_job_run_task.apply_async([str(job.pk)], queue=queue)
            wait_for(waiting_to_insert_the_tag, 30, "the worker to block inside item 3")
            # Progress is readable while the job runs: three items are committed.
            running = client.get(f"/api/v1/bulk/jobs/{job.pk}").json()
            assert (running["status"], running["done"], running["progress"]) == ("running", 3, 0.5)
            assert [result["index"] for result in running["results"]] == [0, 1, 2]
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        blocker.rollback()
    assert not PromptTemplate.objects.filter(workspace=workspace, key="t3").exists()  # nothing half-written
    assert not Tag.objects.filter(workspace=workspace).exists()
    assert BulkItem.objects.filter(job=job, ok__isnull=True).count() == 3, list(
        BulkItem.objects.filter(job=job).values_list("index", "ok", "error", "processed_at")
    )
    with celery_worker(env, log_path=tmp_path / "second.log"):
        finished = wait_for(
            lambda: BulkJob.objects.filter(pk=job.pk, finished_at__isnull=False).first(), 60, "the redelivered job"
        )
    assert (finished.status, finished.done, finished.failed) == ("succeeded", 6, 0)
    assert set(BulkItem.objects.filter(job=job).values_list("ok", flat=True)) == {True}
    for index in range(6):  # each item applied once: one template, one version, one "created" event
        template = PromptTemplate.objects.get(workspace=workspace, key=f"t{index}")
        assert TemplateVersion.objects.filter(template=template).count() == 1
        created = Event.objects.filter(subject_kind="template", subject_pk=template.pk, type="template.created")
        assert created.count() == 1
    assert "bulk_job_run_task" in (tmp_path / "second.log").read_text()
