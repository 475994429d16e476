from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from generation.log import generations_flush, refresh_backlog_gauge
from generation.services import generations_purge


@shared_task
def generations_purge_task() -> int:
    """Delete generation records older than GENERATION_RETENTION_DAYS (idempotent: a rerun finds less)."""
    return generations_purge(older_than=timezone.now() - timedelta(days=settings.GENERATION_RETENTION_DAYS))


@shared_task
def generations_flush_task() -> int:
    """Move queued generation records into the database (a no-op when another flush runs); then measure the
    backlog left."""
    moved = generations_flush() or 0
    refresh_backlog_gauge()
    return moved
