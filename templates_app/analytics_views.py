"""Analytics: the three read-scope API endpoints and the staff-only analytics page of the admin.

The admin page draws its charts as inline SVG computed here (no JavaScript, nothing from a CDN).
"""

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from promptconfig.common.errors import ValidationFailed
from promptconfig.workspaces.models import Workspace
from promptconfig.workspaces.viewsets import WorkspaceScopedMixin
from templates_app.analytics import (
    DAY,
    INTERVALS,
    MAX_BUCKETS,
    UsageQuery,
    analytics_summary,
    bucket_count,
    bucket_floor,
    default_window,
    iso_utc,
    live_templates,
    template_analytics,
    usage_series,
    version_ratings,
)
from templates_app.models import Generation


# --- API response shapes (for the OpenAPI schema) ----------------------------------------------------
class CacheSerializer(serializers.Serializer):
    hits = serializers.IntegerField()
    misses = serializers.IntegerField()
    hit_rate = serializers.FloatField(allow_null=True, help_text="hits / generations, 0-1; null without any")


class AverageSerializer(serializers.Serializer):
    average = serializers.FloatField(allow_null=True)
    count = serializers.IntegerField(help_text="how many generations have a value")


class TemplateCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    by_status = serializers.DictField(child=serializers.IntegerField())


class GenerationCountsSerializer(serializers.Serializer):
    total = serializers.IntegerField()
    last_24h = serializers.IntegerField()


class TopTemplateSerializer(serializers.Serializer):
    key = serializers.CharField()
    language = serializers.CharField()
    name = serializers.CharField()
    generations = serializers.IntegerField()
    average_rating = serializers.FloatField(allow_null=True)


class SummarySerializer(serializers.Serializer):
    templates = TemplateCountsSerializer()
    generations = GenerationCountsSerializer()
    cache = CacheSerializer()
    rating = AverageSerializer()
    effectiveness = AverageSerializer()
    top_templates = TopTemplateSerializer(many=True)


class VersionUsageSerializer(serializers.Serializer):
    language = serializers.CharField()
    version = serializers.IntegerField()
    generations = serializers.IntegerField()
    average_rating = serializers.FloatField(allow_null=True)
    average_effectiveness = serializers.FloatField(allow_null=True)


class DailySerializer(serializers.Serializer):
    date = serializers.DateField()
    generations = serializers.IntegerField()


class TemplateGenerationsSerializer(GenerationCountsSerializer):
    by_version = VersionUsageSerializer(many=True)
    daily = DailySerializer(many=True, help_text="the last 30 days (UTC), today last")


class TemplateAnalyticsSerializer(serializers.Serializer):
    key = serializers.CharField()
    languages = serializers.ListField(child=serializers.CharField())
    generations = TemplateGenerationsSerializer()
    rating = AverageSerializer()
    effectiveness = AverageSerializer()
    cache = CacheSerializer()


class BucketSerializer(serializers.Serializer):
    bucket = serializers.DateTimeField(help_text="start of the UTC hour or day")
    generations = serializers.IntegerField()


class UsageSerializer(serializers.Serializer):
    series = BucketSerializer(many=True)


# --- API -----------------------------------------------------------------------------------------
class AnalyticsView(WorkspaceScopedMixin, APIView):
    """Read scope; every number is the caller's workspace's own."""


class SummaryView(AnalyticsView):
    @extend_schema(responses=SummarySerializer, operation_id="analytics_summary")
    def get(self, request):
        return Response(analytics_summary(workspace=self.workspace))


class TemplateAnalyticsView(AnalyticsView):
    @extend_schema(
        parameters=[
            OpenApiParameter("key", str, OpenApiParameter.PATH),
            OpenApiParameter("language", str, description="only this language variant (default: all of them)"),
        ],
        responses=TemplateAnalyticsSerializer,
        operation_id="analytics_template",
    )
    def get(self, request, key: str):
        language = request.query_params.get("language") or None
        return Response(template_analytics(workspace=self.workspace, key=key, language=language))


def parse_moment(value: str) -> datetime:
    """An ISO 8601 date (midnight UTC) or date-time (naive means UTC); ValueError otherwise."""
    moment = datetime.fromisoformat(value.strip())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def usage_query(params, *, workspace: Workspace, now: datetime | None = None) -> UsageQuery:
    """The usage query the parameters ask for; ValidationFailed naming each bad field, NotFound for `template`."""
    errors: dict[str, list[str]] = {}
    interval = params.get("interval") or DAY
    if interval not in INTERVALS:
        errors["interval"] = [f"Must be one of: {', '.join(INTERVALS)}."]
    moments: dict[str, datetime | None] = {}
    for field in ("from", "to"):
        raw = params.get(field)
        try:
            moments[field] = parse_moment(raw) if raw else None
        except (ValueError, OverflowError):
            errors[field] = ["Not an ISO 8601 date or date-time (such as 2025-01-31 or 2025-01-31T13:00:00Z)."]
    if errors:
        raise ValidationFailed(details=errors)
    try:
        end = moments["to"] or now or timezone.now()
        start = moments["from"] or default_window(interval, now=end)[0]
    except OverflowError:
        raise ValidationFailed(details={"to": ["Out of range."]}) from None
    if start >= end:
        raise ValidationFailed(details={"from": ["Must be before 'to'."]})
    buckets = bucket_count(interval=interval, start=start, end=end)
    if buckets > MAX_BUCKETS:
        raise ValidationFailed(
            details={"from": [f"The range spans {buckets} {interval} buckets; at most {MAX_BUCKETS}."]}
        )
    template_ids = None
    if key := params.get("template"):
        variants = live_templates(workspace=workspace, key=key, language=params.get("language") or None)
        template_ids = [variant["id"] for variant in variants]
    return UsageQuery(interval=interval, start=start, end=end, template_ids=template_ids)


class UsageView(AnalyticsView):
    @extend_schema(
        parameters=[
            OpenApiParameter("interval", str, enum=list(INTERVALS), description="bucket size (default day)"),
            OpenApiParameter(
                "from", datetime, description="ISO 8601 (default: the last 7 days or 48 hours, this one included)"
            ),
            OpenApiParameter("to", datetime, description="ISO 8601, exclusive (default: now)"),
            OpenApiParameter("template", str, description="only this template key"),
            OpenApiParameter("language", str, description="with template: only this language variant"),
        ],
        responses=UsageSerializer,
        operation_id="analytics_usage",
    )
    def get(self, request):
        query = usage_query(request.query_params, workspace=self.workspace)
        series = usage_series(workspace=self.workspace, query=query)
        return Response(
            {"series": [{"bucket": iso_utc(point["bucket"]), "generations": point["generations"]} for point in series]}
        )


# --- Charts (inline SVG geometry) ----------------------------------------------------------------
def nice_ticks(top: float, count: int = 4) -> list[float]:
    """0 and round steps up to at least `top` (1, 2, 2.5 or 5 times a power of ten)."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(power * factor for factor in (1, 2, 2.5, 5, 10) if power * factor >= raw)
    if step < 1:
        step = 1  # counts are whole
    ticks, value = [0.0], 0.0
    while value < top:
        value += step
        ticks.append(value)
    return [int(tick) if float(tick).is_integer() else tick for tick in ticks]


def daily_chart(points: list[dict[str, Any]], *, width: int = 1000, height: int = 270) -> dict[str, Any]:
    """Stacked bars per day: cache hits at the bottom, misses on top, the total above."""
    left, right, top, bottom = 48, 16, 34, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    ticks = nice_ticks(max((point["generations"] for point in points), default=0))
    y_max = ticks[-1]
    slot = plot_w / max(len(points), 1)
    bar_w = slot * 0.62
    base = top + plot_h

    def y(value: float) -> float:
        return base - value / y_max * plot_h

    bars = []
    for index, point in enumerate(points):
        day: date = point["bucket"].date()
        total, hits = point["generations"], point["cache_hits"]
        x = left + index * slot + (slot - bar_w) / 2
        bars.append(
            {
                "x": round(x, 1),
                "w": round(bar_w, 1),
                "cx": round(x + bar_w / 2, 1),
                "hits_y": round(y(hits), 1),
                "hits_h": round(base - y(hits), 1),
                "miss_y": round(y(total), 1),
                "miss_h": round(y(hits) - y(total), 1),
                "total": total,
                "hits": hits,
                "label_y": round(y(total) - 6, 1),
                "weekday": day.strftime("%a"),
                "day": day.strftime("%d %b").lstrip("0"),
                "title": f"{day.isoformat()}: {total} generations, {hits} cache hits",
            }
        )
    return {
        "width": width,
        "height": height,
        "left": left,
        "right_x": width - right,
        "base": base,
        "grid": [{"y": round(y(tick), 1), "label": tick} for tick in ticks],
        "bars": bars,
        "weekday_y": base + 17,
        "day_y": base + 32,
        "legend_x": width - right - 250,
        "total": sum(point["generations"] for point in points),
    }


def hbar_chart(
    rows: list[dict[str, Any]], *, value_key: str, scale_max: float | None = None, width: int = 560
) -> dict[str, Any]:
    """Horizontal bars, one row each, labelled on the left, the value after the bar."""
    label_w, value_w, row_h, bar_h, top = 190, 110, 34, 20, 10
    plot_w = width - label_w - value_w
    ticks = [0, 1, 2, 3, 4, 5] if scale_max == 5 else []
    top_value = scale_max or max((row[value_key] for row in rows), default=0) or 1
    axis_h = 22 if ticks else 0
    height = top + row_h * len(rows) + axis_h + 6
    bars = []
    for index, row in enumerate(rows):
        bar_w = max(row[value_key] / top_value * plot_w, 2)
        y = top + index * row_h
        bars.append(
            {
                **row,
                "y": y + (row_h - bar_h) / 2,
                "h": bar_h,
                "w": round(bar_w, 1),
                "text_y": y + row_h / 2 + 4,
                "value_x": round(label_w + bar_w + 8, 1),
            }
        )
    grid_bottom = top + row_h * len(rows)
    return {
        "width": width,
        "height": height,
        "label_x": label_w - 10,
        "x0": label_w,
        "bars": bars,
        "grid": [{"x": round(label_w + tick / top_value * plot_w, 1), "label": tick} for tick in ticks],
        "grid_top": top,
        "grid_bottom": grid_bottom,
        "axis_y": grid_bottom + 16,
    }


def rating_class(rating: float) -> str:
    return "pc-good" if rating >= 4 else "pc-fair" if rating >= 3 else "pc-poor"


def cache_chart(points: list[dict[str, Any]], *, width: int = 1000, height: int = 220) -> dict[str, Any]:
    """A donut of the period's hit rate beside a line of the daily hit rate (days without generations skipped)."""
    hits = sum(point["cache_hits"] for point in points)
    total = sum(point["generations"] for point in points)
    radius = 62
    circumference = 2 * math.pi * radius
    rate = hits / total if total else 0.0
    left, right, top, bottom = 250, 30, 18, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / max(len(points) - 1, 1)
    line = []
    for index, point in enumerate(points):
        if point["generations"]:
            value = point["cache_hits"] / point["generations"]
            line.append(
                {
                    "x": round(left + index * slot, 1),
                    "y": round(top + plot_h - value * plot_h, 1),
                    "title": f"{point['bucket'].date().isoformat()}: {value:.0%} of {point['generations']}",
                    "label": f"{value:.0%}",
                }
            )
    labels = [
        {"x": round(left + index * slot, 1), "text": point["bucket"].date().strftime("%d %b").lstrip("0")}
        for index, point in enumerate(points)
    ]
    return {
        "width": width,
        "height": height,
        "cx": 110,
        "cy": height / 2 - 6,
        "r": radius,
        "circumference": round(circumference, 2),
        "dash": round(rate * circumference, 2),
        "percent": round(rate * 100),
        "hits": hits,
        "misses": total - hits,
        "total": total,
        "has_data": bool(total),
        "plot_left": left,
        "plot_right": width - right,
        "grid": [{"y": round(top + plot_h - share * plot_h, 1), "label": f"{share:.0%}"} for share in (0, 0.5, 1)],
        "points": line,
        "polyline": " ".join(f"{point['x']},{point['y']}" for point in line),
        "labels": labels,
        "label_y": top + plot_h + 18,
    }


# --- Admin page ----------------------------------------------------------------------------------
CHART_DAYS = 14


def _chosen_workspace(request: HttpRequest, workspaces: list[Workspace]) -> Workspace | None:
    """?workspace=<slug>; by default the one with the latest generation, else the first."""
    by_slug = {workspace.slug: workspace for workspace in workspaces}
    if (slug := request.GET.get("workspace")) in by_slug:
        return by_slug[slug]
    if not workspaces:
        return None
    latest = Generation.objects.order_by("-created_at").values_list("workspace_id", flat=True).first()
    return next((workspace for workspace in workspaces if workspace.pk == latest), workspaces[0])


def _page_context(workspace: Workspace) -> dict[str, Any]:
    now = timezone.now()
    start = bucket_floor(now, DAY) - timedelta(days=CHART_DAYS - 1)
    daily = usage_series(workspace=workspace, query=UsageQuery(interval=DAY, start=start, end=now))
    summary = analytics_summary(workspace=workspace, now=now, top=8)
    top = [
        {
            **row,
            "label": row["key"],
            "tag": row["language"],
            "detail": f"★ {row['average_rating']:.1f}" if row["average_rating"] is not None else "",
        }
        for row in summary["top_templates"]
    ]
    ratings = [
        {
            **row,
            "label": f"{row['key']} v{row['version']}",
            "tag": row["language"],
            "css": rating_class(row["average_rating"]),
        }
        for row in version_ratings(workspace=workspace)
    ]
    return {
        "summary": summary,
        "period_total": sum(point["generations"] for point in daily),
        "daily_chart": daily_chart(daily),
        "top_chart": hbar_chart(top, value_key="generations"),
        "ratings_chart": hbar_chart(ratings, value_key="average_rating", scale_max=5),
        "cache_chart": cache_chart(daily),
        "chart_days": CHART_DAYS,
        "period_start": start.date(),
        "period_end": now.astimezone(UTC).date(),
    }


def _analytics_page(request: HttpRequest) -> HttpResponse:
    workspaces = list(Workspace.objects.order_by("slug"))
    workspace = _chosen_workspace(request, workspaces)
    context = {
        **admin.site.each_context(request),
        "title": "Analytics",
        "workspaces": workspaces,
        "workspace": workspace,
        "page_url": reverse("admin-analytics"),
        **(_page_context(workspace) if workspace else {}),
    }
    return TemplateResponse(request, "admin/analytics.html", context)


analytics_admin_page = admin.site.admin_view(_analytics_page)
