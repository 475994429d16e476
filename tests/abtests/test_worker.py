"""The analysis under a real Celery worker (Redis broker) and its beat schedule; stickiness across processes."""

import contextlib
import random
import signal
import uuid

import httpx
import psycopg
import pytest
from django.conf import settings

from abtests.models import ABTest, Assignment, MetricEvent
from abtests.services import ab_test_create
from abtests.tasks import ab_test_analyze_task
from promptconfig.workspaces.services import api_key_create
from templates_app.services import template_create
from tests.factories import WorkspaceFactory
from tests.support.servers import celery_worker, database_url_for_tests, gunicorn_server, wait_for, worker_env

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


def b_wins_test() -> ABTest:
    workspace = WorkspaceFactory()
    template_create(workspace=workspace, actor="t", key="steps", name="A", template="Steps about {{ topic }}.")
    template_create(workspace=workspace, actor="t", key="story", name="B", template="A story about {{ topic }}.")
    test = ab_test_create(
        workspace=workspace,
        actor="t",
        name="Story vs steps",
        template_a="steps",
        template_b="story",
        target_metrics=["effectiveness"],
    )
    rng = random.Random(42)
    for variant, mean in (("A", 0.5), ("B", 0.7)):
        users = [f"{variant}{i}" for i in range(200)]
        Assignment.objects.bulk_create([Assignment(test=test, user_id=user, variant=variant) for user in users])
        MetricEvent.objects.bulk_create(
            [
                MetricEvent(
                    test=test, user_id=user, variant=variant, metric="effectiveness", value=rng.gauss(mean, 0.1)
                )
                for user in users
            ]
        )
    return test


def waiting_on_a_lock() -> int:
    """Sessions of the test database waiting on a lock (a fresh snapshot: its own connection, autocommit)."""
    with psycopg.connect(database_url_for_tests(), autocommit=True) as observer:
        query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
        return observer.execute(query).fetchone()[0]


@pytest.mark.broker
def test_beat_schedules_the_analysis_and_the_worker_stores_results(transactional_db, tmp_path):
    test = b_wins_test()
    env = worker_env(f"abtests-{uuid.uuid4().hex}", ABTEST_ANALYSIS_SECONDS="1")
    with celery_worker(env, beat=True, log_path=tmp_path / "worker.log"):
        analysed = wait_for(
            lambda: ABTest.objects.filter(pk=test.pk, computed_at__isnull=False).first(), 60, "the beat analysis"
        )
    log = (tmp_path / "worker.log").read_text()
    assert "abtests.tasks.ab_tests_analyze_due_task" in log and "abtests.tasks.ab_test_analyze_task" in log
    assert analysed.results["winner"] == "template_b" and analysed.results["statistical_significance"] is True


@pytest.mark.broker
def test_a_worker_killed_mid_analysis_leaves_the_task_to_be_redelivered(transactional_db, tmp_path):
    test = b_wins_test()
    queue = f"abtests-{uuid.uuid4().hex}"
    # A short visibility timeout (twice the hard time limit) so that the unacknowledged task comes back soon.
    env = worker_env(
        queue, CELERY_TASK_TIME_LIMIT="3", CELERY_TASK_SOFT_TIME_LIMIT="2", CELERY_UNACKED_RESTORE_SECONDS="1"
    )
    with contextlib.closing(psycopg.connect(database_url_for_tests(), autocommit=False)) as blocker:
        # Hold the test's row: the analysis locks it first, so the worker stops inside the task.
        blocker.execute("SELECT 1 FROM abtests_abtest WHERE id = %s FOR UPDATE", [test.pk])
        with celery_worker(env, log_path=tmp_path / "first.log") as first:
            ab_test_analyze_task.apply_async([str(test.pk)], queue=queue)
            wait_for(waiting_on_a_lock, 30, "the worker to block inside the analysis")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        blocker.rollback()
    assert ABTest.objects.get(pk=test.pk).computed_at is None  # nothing half-written
    with celery_worker(env, log_path=tmp_path / "second.log"):
        analysed = wait_for(
            lambda: ABTest.objects.filter(pk=test.pk, computed_at__isnull=False).first(), 60, "the redelivered task"
        )
    assert analysed.results["winner"] == "template_b"
    assert analysed.results["results"]["template_a"]["samples"]["effectiveness"] == 200


def test_a_users_variant_is_the_same_over_twenty_calls_and_two_processes(transactional_db, tmp_path):
    workspace = WorkspaceFactory()
    template_create(workspace=workspace, actor="t", key="steps", name="A", template="Steps about {{ topic }}.")
    template_create(workspace=workspace, actor="t", key="story", name="B", template="A story about {{ topic }}.")
    _, key = api_key_create(workspace=workspace, name="k", scope="admin")
    test = ab_test_create(
        workspace=workspace, actor="t", name="T", template_a="steps", template_b="story", target_metrics=["rating"]
    )
    headers = {"Authorization": f"Bearer {key}"}
    env = {"DATABASE_URL": database_url_for_tests(), "REDIS_URL": settings.REDIS_URL, "GENERATION_LOG_QUEUE": "0"}
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(gunicorn_server(env, workers=1, log_path=tmp_path / f"web{i}.log")) for i in (1, 2)
        ]
        for user in ("alice", "bob", "carol", "dave"):
            seen = set()
            for call in range(20):
                base = servers[call % 2]
                if call % 2:
                    response = httpx.get(
                        f"{base}/api/v1/ab-tests/{test.pk}/select", params={"user_id": user}, headers=headers
                    )
                    seen.add((response.json()["variant"], response.json()["template_id"]))
                else:
                    response = httpx.post(
                        f"{base}/api/v1/prompts/generate",
                        json={"template_id": "steps", "user_id": user, "context": {"topic": "t"}},
                        headers=headers,
                    )
                    body = response.json()
                    seen.add((body["ab_test"]["variant"], body["template_used"]))
                if call == 10:
                    httpx.post(  # the caches forget everything: the stored assignment still decides
                        f"{base}/api/v1/cache/invalidate", json={"pattern": "*"}, headers=headers
                    ).raise_for_status()
            assert len(seen) == 1, (user, seen)
            assert Assignment.objects.filter(test=test, user_id=user).count() == 1
