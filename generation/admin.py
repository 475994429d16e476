"""The staff-only analytics page of the admin (/admin/analytics/): generations, top templates, ratings, cache."""

from datetime import UTC, timedelta
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone

from generation.charts import cache_chart, daily_chart, hbar_chart, rating_class
from generation.models import Generation, PlaygroundRun
from generation.playground_admin import playground_admin_page
from generation.selectors import DAY, UsageQuery, analytics_summary, bucket_floor, usage_series, version_ratings
from promptconfig.common.admin import ReadOnlyAdmin
from promptconfig.workspaces.models import Workspace

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
            "value_text": f"{row['average_rating']:.1f}",
            "detail": f"({row['ratings']})",
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
__all__ = ["analytics_admin_page", "playground_admin_page"]


@admin.register(PlaygroundRun)
class PlaygroundRunAdmin(ReadOnlyAdmin):
    """Every playground run, for the record (the playground page lists a template's latest)."""

    list_display = ["created_at", "template", "source", "created_by", "profile_user_id", "model", "total_tokens"]
    list_filter = ["model", "template__workspace"]
    search_fields = ["template__key", "created_by", "output_excerpt"]
    list_select_related = ["template", "version"]

    @admin.display(description="version")
    def source(self, run: PlaygroundRun) -> str:
        return f"v{run.version.number}" if run.version else "unsaved body"
