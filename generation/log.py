"""Storing generation records without putting the database write on the request path.

With GENERATION_LOG_QUEUE on (the default when Redis and a Celery broker are configured), a request
only appends its records to a Redis list (one round trip); `generations_flush` moves them into the
database in bulk, from a beat task every few seconds and on demand when a record is read. Nothing is
lost on the way: if the queue cannot be written the records are stored directly, and the flusher
reads without removing, commits, and only then trims, skipping records already stored, so a crash
between the two neither loses nor double-counts a record.
"""

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

import orjson
from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection, transaction
from django.db.models import F

from generation.models import Generation
from promptconfig.common import metrics
from promptconfig.common.cache import redis_call, redis_connection
from templates_app.models import PromptTemplate, TemplateVersion

logger = logging.getLogger("promptconfig.generation_log")

QUEUE_KEY = "generation-log:queue"
LOCK_KEY = "generation-log:flush-lock"
FIELDS = (
    "workspace_id",
    "template_id",
    "version_id",
    "template_key",
    "language",
    "user_id",
    "context",
    "variables",
    "text",
    "cache_key",
    "cache_hit",
    "ab_test_id",
    "ab_variant",
    "latency_ms",
    "trace_id",
)


@dataclass
class Record:
    """One generation as the runtime makes it, before it is stored as a `Generation` row: a plain object, as
    building a model instance costs a warm generate about a tenth of its Python calls."""

    id: uuid.UUID
    workspace_id: int
    template_id: int
    version: TemplateVersion
    template_key: str
    language: str
    user_id: str
    context: dict
    variables: dict
    text: str
    cache_key: str
    cache_hit: bool
    ab_test_id: str
    ab_variant: str
    latency_ms: float
    trace_id: str
    expires_at: datetime
    created_at: datetime

    @property
    def version_id(self) -> int:
        return self.version.pk


_INSERTED = (*FIELDS, "id", "created_at", "expires_at")  # what the queue carries


def _key(name: str) -> str:
    return cache.make_key(name)  # carries the deployment's CACHE_KEY_PREFIX


def _fields(record: Record) -> dict:
    return {name: getattr(record, name) for name in _INSERTED}


def _row(record: Record) -> dict:
    """A record as the queue carries it: its fields, with the id and times as text."""
    row = _fields(record)
    row.update(id=str(record.id), created_at=record.created_at.isoformat(), expires_at=record.expires_at.isoformat())
    return row


def _encode(record: Record) -> bytes:
    """A record as the queue carries it: `_row` as a JSON document. orjson writes one in about a tenth of the time
    the standard library takes (it was a tenth of a warm generate's CPU instructions); an integer beyond 64 bits,
    which only the standard library writes, takes that way."""
    try:
        return orjson.dumps(_fields(record), default=str)
    except orjson.JSONEncodeError:
        return json.dumps(_row(record), default=str).encode()


def _decode(raw: bytes) -> dict:
    return json.loads(raw)


def _record(row: dict) -> Generation:
    return Generation(
        **{
            **row,
            "id": uuid.UUID(row["id"]),
            "created_at": datetime.fromisoformat(row["created_at"]),
            "expires_at": datetime.fromisoformat(row["expires_at"]),
        }
    )


# On PostgreSQL a flushed batch is one statement: the queued JSON documents, joined into one array, become rows in
# PostgreSQL itself (jsonb_populate_recordset names the columns after the keys), records already stored are
# skipped (ON CONFLICT), and the templates' usage counts grow by the rows inserted. The flushing worker spends
# no Python on a record: building a model per record and quoting its values cost it about 0.2 ms a record.
def _insert_json(documents: list[bytes]) -> None:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(column) for column in _INSERTED)
    generations, templates = quote(Generation._meta.db_table), quote(PromptTemplate._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH inserted AS (
                INSERT INTO {generations} ({columns}, "feedback_metrics")
                SELECT {columns}, '{{}}'::jsonb FROM jsonb_populate_recordset(NULL::{generations}, %s::jsonb)
                ON CONFLICT (id) DO NOTHING
                RETURNING template_id
            )
            UPDATE {templates} AS template SET usage_count = template.usage_count + counted.n
            FROM (SELECT template_id, count(*) AS n FROM inserted GROUP BY template_id) AS counted
            WHERE template.id = counted.template_id
            """,
            [(b"[" + b",".join(documents) + b"]").decode()],
        )


@transaction.atomic
def _store(rows: list[dict], *, skip_stored: bool = False) -> None:
    """Insert records (as `_row` gives them) and count them on their templates; with `skip_stored`, leave out
    records already stored (the queue may hand over a batch twice)."""
    fresh = rows
    if skip_stored:
        ids = [row["id"] for row in rows]
        stored = {str(pk) for pk in Generation.objects.filter(pk__in=ids).values_list("pk", flat=True)}
        fresh = [row for row in rows if row["id"] not in stored]
    Generation.objects.bulk_create([_record(row) for row in fresh])
    per_template: dict[int, int] = {}
    for row in fresh:
        per_template[row["template_id"]] = per_template.get(row["template_id"], 0) + 1
    for template_id, count in per_template.items():
        PromptTemplate.objects.filter(pk=template_id).update(usage_count=F("usage_count") + count)


def generations_log(records: list[Record]) -> None:
    if not records:
        return
    if settings.GENERATION_LOG_QUEUE:
        try:
            backend = caches["default"]  # once: `redis_connection()` and `cache.make_key` each look it up again
            queue = backend.make_key(QUEUE_KEY)
            redis_call(backend.client.get_client(write=True), "RPUSH", queue, *(_encode(record) for record in records))
            return
        except Exception as exc:  # Redis down or refusing: store now rather than lose the records
            logger.warning("generation log queue unavailable, storing directly: %s", exc)
    _store([_row(record) for record in records])


def generations_queued() -> int | None:
    """How many records wait in the queue; None with the queue off or Redis unreachable."""
    if not settings.GENERATION_LOG_QUEUE:
        return None
    try:
        return int(redis_connection().llen(_key(QUEUE_KEY)))
    except Exception as exc:
        logger.warning("generation log queue unavailable: %s", exc)
        return None


def generations_flush(*, batch_size: int = 500) -> int | None:
    """Move queued records into the database; returns how many were taken off the queue, or None when another
    flusher is at it (0: nothing was queued, the queue is off or Redis is unreachable)."""
    if not settings.GENERATION_LOG_QUEUE:
        return 0
    try:
        redis = redis_connection()
        if not redis.set(_key(LOCK_KEY), "1", nx=True, ex=60):
            return None
    except Exception as exc:
        logger.warning("generation log queue unavailable: %s", exc)
        return 0
    moved = 0
    try:
        while raw := redis.lrange(_key(QUEUE_KEY), 0, batch_size - 1):
            if connection.vendor == "postgresql":
                _insert_json(raw)  # one statement: atomic on its own
            else:
                _store([_decode(item) for item in raw], skip_stored=True)
            redis.ltrim(_key(QUEUE_KEY), len(raw), -1)
            moved += len(raw)
    finally:
        redis.delete(_key(LOCK_KEY))
    return moved


def refresh_backlog_gauge() -> None:
    """Set generation_log_backlog to the queue's length (the flush task and /metrics call it)."""
    queued = generations_queued()
    if queued is not None:
        metrics.generation_log_backlog.set(queued)


def health_report() -> tuple[str, dict, bool] | None:
    """/health's view of the queue: records wait in Redis until a worker flushes them, so a long queue means
    no worker is running (reported as degraded)."""
    queued = generations_queued()
    if queued is None:
        return None
    body = {"queued": queued, "max_backlog": settings.GENERATION_LOG_MAX_BACKLOG}
    return "generation_log", body, queued > settings.GENERATION_LOG_MAX_BACKLOG
