"""Deliveries under a real Celery worker (Redis broker): enqueued after commit, retried with growing delays, and
redelivered by the broker when the worker dies mid-attempt."""

import os
import signal
import uuid
from pathlib import Path

import pytest

from profiles.services import profile_create
from promptconfig.events.models import WebhookDelivery
from promptconfig.events.services import webhook_create
from tests.support.servers import celery_worker, wait_for, worker_env
from tests.support.webhook_receiver import webhook_receiver

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.broker]
FAST = {
    "WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
    "WEBHOOK_RETRY_BASE_SECONDS": "1",
    "WEBHOOK_RETRY_JITTER": "0.1",
}


def states(webhook) -> list[tuple[int, str, int | None]]:
    rows = WebhookDelivery.objects.filter(webhook=webhook).order_by("id")
    return [(row.attempt, row.state, row.status_code) for row in rows]


def test_the_worker_retries_500_500_200_with_growing_delays(transactional_db, workspace, settings, tmp_path):
    queue = f"webhooks-{uuid.uuid4().hex}"
    settings.WEBHOOK_QUEUE = queue
    with webhook_receiver([500, 500, 200]) as receiver:
        webhook = webhook_create(workspace=workspace, actor="t", url=receiver.url, events=["profile.*"])
        with celery_worker(worker_env(queue, **FAST), log_path=tmp_path / "worker.log"):
            profile_create(workspace=workspace, user_id="u1", actor="t")  # commits: the delivery is enqueued
            arrivals = [r.at for r in receiver.wait_for(3, 30)]
            wait_for(lambda: states(webhook)[-1][1] == "delivered", 10, "the third attempt to be recorded")
    assert states(webhook) == [(1, "failed", 500), (2, "failed", 500), (3, "delivered", 200)]
    first, second = arrivals[1] - arrivals[0], arrivals[2] - arrivals[1]
    assert 0.9 < first < 2.0 and second > first + 0.5  # ~1 s then ~2 s
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 1


def test_a_worker_killed_mid_delivery_leaves_it_to_be_redelivered(transactional_db, workspace, settings, tmp_path):
    queue = f"webhooks-{uuid.uuid4().hex}"
    settings.WEBHOOK_QUEUE = queue
    # The broker hands an unacknowledged task back after its visibility timeout (twice the hard time limit).
    env = worker_env(
        queue,
        **FAST,
        WEBHOOK_TIMEOUT_SECONDS="2",
        CELERY_TASK_TIME_LIMIT="4",
        CELERY_TASK_SOFT_TIME_LIMIT="3",
        CELERY_UNACKED_RESTORE_SECONDS="1",
    )
    with webhook_receiver(["hang"]) as receiver:
        webhook = webhook_create(workspace=workspace, actor="t", url=receiver.url, events=["profile.*"])
        with celery_worker(env, log_path=tmp_path / "first.log") as first:
            profile_create(workspace=workspace, user_id="u1", actor="t")
            receiver.wait_for(1, 30)  # the worker is inside the attempt, the receiver holds it
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        assert states(webhook) == [(1, "pending", None)]  # nothing recorded, nothing lost
        with celery_worker(env, log_path=tmp_path / "second.log"):
            wait_for(lambda: states(webhook) == [(1, "delivered", 200)], 60, "the redelivered task")
    assert len(receiver.received) == 2
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]


def test_a_worker_runs_at_a_lower_cpu_priority_than_the_web_service(transactional_db, tmp_path):
    """WORKER_NICENESS (10 by default): background work yields the CPU to requests on a shared host."""

    def niceness(pid: int) -> int:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2 :].split()[16])

    with celery_worker(worker_env(f"nice-{uuid.uuid4().hex}"), log_path=tmp_path / "worker.log") as worker:
        assert niceness(worker.pid) == min(19, os.nice(0) + 10)
