"""Reads of generation records: one stored prompt, and the analytics (template counts, generation volume,
cache hit rate, ratings and effectiveness).

Pure reads, every one scoped to one workspace. Each selector runs a fixed number of aggregate queries,
whatever the amount of data; time series are zero-filled in Python. Buckets are UTC.

What counts: template counts and everything addressed by template (top templates, per-template analytics,
ratings by version, the `template` filter of the usage series) see live templates only; workspace totals
(generations, cache, ratings) count every generation the workspace made, also of templates deleted since.
"""

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncDay, TruncHour
from django.utils import timezone

from generation.log import generations_flush
from generation.models import Generation
from promptconfig.common.errors import NotFound
from promptconfig.workspaces.models import Workspace
from templates_app.models import PromptTemplate, TemplateVersion

HOUR, DAY = "hour", "day"
INTERVALS = {HOUR: timedelta(hours=1), DAY: timedelta(days=1)}
TRUNCATE = {HOUR: TruncHour, DAY: TruncDay}
MAX_BUCKETS = 1000
TOP_TEMPLATES = 5
TEMPLATE_DAILY_DAYS = 30
FLUSH_ATTEMPTS = 6


# --- prompt records ----------------------------------------------------------------------------
def generation_get(*, workspace: Workspace, prompt_id: str) -> Generation:
    """A stored prompt; one still in the log queue is flushed first (waiting briefly for another flusher, but not
    when nothing is queued or being flushed: an unknown id is answered at once)."""
    try:
        uuid.UUID(str(prompt_id))
    except ValueError:
        raise NotFound("No such prompt.") from None
    records = Generation.objects.filter(workspace=workspace, pk=prompt_id).select_related("version")
    for attempt in range(FLUSH_ATTEMPTS):
        record = records.first()
        if record is not None or not settings.GENERATION_LOG_QUEUE or attempt == FLUSH_ATTEMPTS - 1:
            break
        moved = generations_flush()
        if moved == 0:  # nothing was queued and no flush ran: stored by now, or nowhere
            record = records.first()
            break
        if moved is None:
            time.sleep(0.1)  # another process is flushing
    if record is None:
        raise NotFound("No such prompt.")
    return record


# --- analytics helpers ---------------------------------------------------------------------------------------
def iso_utc(moment: datetime) -> str:
    """`2025-01-31T13:00:00Z`."""
    moment = moment.astimezone(UTC)
    return f"{moment.year:04d}-{moment:%m-%dT%H:%M:%S}Z"  # %Y does not pad years before 1000


def bucket_floor(moment: datetime, interval: str) -> datetime:
    """The start of the UTC hour or day `moment` falls in."""
    moment = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return moment.replace(hour=0) if interval == DAY else moment


def bucket_starts(*, interval: str, start: datetime, end: datetime) -> list[datetime]:
    """The buckets covering [start, end): from the one `start` falls in to the one just before `end`."""
    step, bucket, starts = INTERVALS[interval], bucket_floor(start, interval), []
    while bucket < end:
        starts.append(bucket)
        try:
            bucket += step
        except OverflowError:  # the end of the calendar
            break
    return starts


def bucket_count(*, interval: str, start: datetime, end: datetime) -> int:
    """How many buckets [start, end) spans, without building them (to refuse huge ranges cheaply)."""
    if end <= start:
        return 0
    span = end - bucket_floor(start, interval)
    step = INTERVALS[interval]
    return span // step + (1 if span % step else 0)


def default_window(interval: str, now: datetime | None = None) -> tuple[datetime, datetime]:
    """The last 7 days (today included) for `day`, the last 48 hours (this one included) for `hour`."""
    now = now or timezone.now()
    buckets = 7 if interval == DAY else 48
    return bucket_floor(now, interval) - INTERVALS[interval] * (buckets - 1), now


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _cache(hits: int, total: int) -> dict[str, Any]:
    return {"hits": hits, "misses": total - hits, "hit_rate": _rate(hits, total)}


def _totals(generations: QuerySet[Generation], now: datetime) -> dict[str, Any]:
    """One query: counts, last 24 h, cache hits, ratings and effectiveness of these generations."""
    return generations.aggregate(
        total=Count("id"),
        last_24h=Count("id", filter=Q(created_at__gt=now - timedelta(hours=24), created_at__lte=now)),
        hits=Count("id", filter=Q(cache_hit=True)),
        rating_avg=Avg("rating"),
        rating_count=Count("rating"),
        effectiveness_avg=Avg("effectiveness_score"),
        effectiveness_count=Count("effectiveness_score"),
    )


def _quality(totals: dict[str, Any]) -> dict[str, Any]:
    return {
        "rating": {"average": _round(totals["rating_avg"], 2), "count": totals["rating_count"]},
        "effectiveness": {"average": _round(totals["effectiveness_avg"], 4), "count": totals["effectiveness_count"]},
    }


def _series(rows, starts: list[datetime]) -> list[dict[str, Any]]:
    """Zero-filled buckets from aggregate rows of {"bucket", "generations", "cache_hits"}."""
    found = {row["bucket"]: row for row in rows}
    series = []
    for start in starts:
        row = found.get(start, {})
        series.append(
            {"bucket": start, "generations": row.get("generations", 0), "cache_hits": row.get("cache_hits", 0)}
        )
    return series


def _bucketed(generations: QuerySet[Generation], interval: str):
    return (
        generations.annotate(bucket=TRUNCATE[interval]("created_at", tzinfo=UTC))
        .values("bucket")
        .annotate(generations=Count("id"), cache_hits=Count("id", filter=Q(cache_hit=True)))
        .order_by("bucket")
    )


# --- selectors -------------------------------------------------------------------------------------
def template_status_counts(*, workspace: Workspace) -> dict[str, Any]:
    """{"total", "by_status": {status: n}} of the live templates (every status listed, 0 if none)."""
    rows = (
        PromptTemplate.objects.filter(workspace=workspace, deleted_at__isnull=True)
        .values_list("status")
        .annotate(n=Count("id"))
        .order_by()
    )
    by_status = dict.fromkeys(PromptTemplate.Status.values, 0) | dict(rows)
    return {"total": sum(by_status.values()), "by_status": by_status}


def top_templates(*, workspace: Workspace, limit: int = TOP_TEMPLATES) -> list[dict[str, Any]]:
    """Live templates by number of generations, most first: key, language, name, generations, average_rating."""
    rows = (
        Generation.objects.filter(workspace=workspace, template__deleted_at__isnull=True)
        .values("template_id", "template__key", "template__language", "template__name")
        .annotate(generations=Count("id"), average_rating=Avg("rating"))
        .order_by("-generations", "template__key", "template__language")[:limit]
    )
    return [
        {
            "key": row["template__key"],
            "language": row["template__language"],
            "name": row["template__name"],
            "generations": row["generations"],
            "average_rating": _round(row["average_rating"], 2),
        }
        for row in rows
    ]


def analytics_summary(*, workspace: Workspace, now: datetime | None = None, top: int = TOP_TEMPLATES) -> dict:
    """The workspace at a glance (three queries)."""
    now = now or timezone.now()
    totals = _totals(Generation.objects.filter(workspace=workspace), now)
    return {
        "templates": template_status_counts(workspace=workspace),
        "generations": {"total": totals["total"], "last_24h": totals["last_24h"]},
        "cache": _cache(totals["hits"], totals["total"]),
        **_quality(totals),
        "top_templates": top_templates(workspace=workspace, limit=top),
    }


def live_templates(*, workspace: Workspace, key: str, language: str | None = None) -> list[dict[str, Any]]:
    """The live variants of `key` (one language, if given) as {"id", "language"}; NotFound if there are none."""
    templates = PromptTemplate.objects.filter(workspace=workspace, key=key, deleted_at__isnull=True)
    if language:
        templates = templates.filter(language=language)
    found = list(templates.order_by("language").values("id", "language"))
    if not found:
        raise NotFound(f"No template '{key}'" + (f" in language '{language}'." if language else "."))
    return found


def template_analytics(
    *,
    workspace: Workspace,
    key: str,
    language: str | None = None,
    now: datetime | None = None,
    days: int = TEMPLATE_DAILY_DAYS,
) -> dict[str, Any]:
    """One key's generations (total, by version, daily for `days` days), ratings, effectiveness, cache (4 queries).

    All live language variants of the key count, or only `language`'s. Every version is listed, also unused ones.
    """
    now = now or timezone.now()
    variants = live_templates(workspace=workspace, key=key, language=language)
    ids = [variant["id"] for variant in variants]
    generations = Generation.objects.filter(workspace=workspace, template_id__in=ids)
    totals = _totals(generations, now)
    versions = (
        TemplateVersion.objects.filter(template_id__in=ids)
        .values("template__language", "number")
        .annotate(
            uses=Count("generations"),
            rating=Avg("generations__rating"),
            effectiveness=Avg("generations__effectiveness_score"),
        )
        .order_by("template__language", "number")
    )
    start = bucket_floor(now, DAY) - timedelta(days=days - 1)
    starts = bucket_starts(interval=DAY, start=start, end=now)
    daily = _series(_bucketed(generations.filter(created_at__gte=start, created_at__lte=now), DAY), starts)
    return {
        "key": key,
        "languages": [variant["language"] for variant in variants],
        "generations": {
            "total": totals["total"],
            "last_24h": totals["last_24h"],
            "by_version": [
                {
                    "language": row["template__language"],
                    "version": row["number"],
                    "generations": row["uses"],
                    "average_rating": _round(row["rating"], 2),
                    "average_effectiveness": _round(row["effectiveness"], 4),
                }
                for row in versions
            ],
            "daily": [
                {"date": point["bucket"].date().isoformat(), "generations": point["generations"]} for point in daily
            ],
        },
        **_quality(totals),
        "cache": _cache(totals["hits"], totals["total"]),
    }


@dataclass(frozen=True)
class UsageQuery:
    interval: str
    start: datetime
    end: datetime
    template_ids: list[int] | None = None  # None: every generation of the workspace


def usage_series(*, workspace: Workspace, query: UsageQuery) -> list[dict[str, Any]]:
    """Generations per bucket over [start, end), zero-filled: [{"bucket": datetime, "generations", "cache_hits"}].

    One query. The first bucket is the one `start` falls in; it counts from `start` on.
    """
    generations = Generation.objects.filter(workspace=workspace, created_at__gte=query.start, created_at__lt=query.end)
    if query.template_ids is not None:
        generations = generations.filter(template_id__in=query.template_ids)
    starts = bucket_starts(interval=query.interval, start=query.start, end=query.end)
    return _series(_bucketed(generations, query.interval), starts)


def version_ratings(*, workspace: Workspace, limit: int = 16) -> list[dict[str, Any]]:
    """Average rating per live template version that has ratings, by key, language and version (one query)."""
    rows = (
        Generation.objects.filter(workspace=workspace, rating__isnull=False, template__deleted_at__isnull=True)
        .values("template__key", "template__language", "version__number")
        .annotate(average_rating=Avg("rating"), ratings=Count("id"))
        .order_by("template__key", "template__language", "version__number")[:limit]
    )
    return [
        {
            "key": row["template__key"],
            "language": row["template__language"],
            "version": row["version__number"],
            "average_rating": round(row["average_rating"], 2),
            "ratings": row["ratings"],
        }
        for row in rows
    ]
