"""LLM refinements in the admin: read-only (they are started and applied through the API)."""

from django.contrib import admin
from django.db.models import QuerySet
from django.utils.html import format_html

from promptconfig.common.admin import ReadOnlyAdmin
from templates_app.models import Refinement
from templates_app.refinements import proposal_diff


@admin.register(Refinement)
class RefinementAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "template",
        "source",
        "status",
        "goal_excerpt",
        "model",
        "total_tokens",
        "latency_ms",
        "applied",
    ]
    list_filter = ["status", "template__workspace"]
    search_fields = ["template__key", "goal"]
    list_select_related = ["template", "version", "applied_version"]
    fields = [
        "template",
        "version",
        "status",
        "goal",
        "model",
        "proposed_template",
        "rationale",
        "diff",
        "error",
        ("prompt_tokens", "completion_tokens", "total_tokens", "latency_ms"),
        "applied_version",
        ("created_by", "created_at", "finished_at"),
    ]
    readonly_fields = ["diff"]

    class Media:
        css = {"all": ["templates_app/admin.css"]}

    def get_queryset(self, request) -> QuerySet[Refinement]:
        return super().get_queryset(request).order_by("-created_at", "-id")

    @admin.display(description="version", ordering="version__number")
    def source(self, refinement: Refinement) -> str:
        return f"v{refinement.version.number}"

    @admin.display(description="goal")
    def goal_excerpt(self, refinement: Refinement) -> str:
        return refinement.goal if len(refinement.goal) <= 60 else refinement.goal[:59] + "…"

    @admin.display(description="applied as")
    def applied(self, refinement: Refinement) -> str:
        return f"v{refinement.applied_version.number}" if refinement.applied_version else "-"

    @admin.display(description="diff")
    def diff(self, refinement: Refinement) -> str:
        return format_html('<pre class="pc-code pc-source-body">{}</pre>', proposal_diff(refinement) or "-")
