"""Provider model versions in the admin: read-only, drift highlighted (they are only ever written by probes)."""

from django.contrib import admin
from django.db.models import Count, F, Max, QuerySet, Window
from django.utils.html import format_html

from promptconfig.common.admin import ReadOnlyAdmin
from templates_app.admin import PromptTemplateAdmin
from templates_app.admin_inlines import TemplateHistoryInline
from versions.models import ProviderVersion

DRIFT_STYLE = "color: #fff; background: #d9480f; padding: 1px 6px; border-radius: 3px"
REPLACED_STYLE = "color: #d9480f; text-decoration: line-through"


def with_drift(queryset: QuerySet[ProviderVersion]) -> QuerySet[ProviderVersion]:
    """Each row with how many keys its (template, provider, model) has seen, and that group's latest sighting."""
    group = [F("template_id"), F("provider"), F("model_id")]
    return queryset.annotate(
        keys_for_model=Window(Count("id"), partition_by=group),
        group_last_seen=Window(Max("last_seen_at"), partition_by=group),
    )


def drift_badge(record: ProviderVersion) -> str:
    if getattr(record, "keys_for_model", 1) < 2:
        return "-"
    if record.last_seen_at == record.group_last_seen:
        return format_html(
            '<strong class="pc-drift pc-drift-current" style="{}">drift: current, {} keys seen</strong>',
            DRIFT_STYLE,
            record.keys_for_model,
        )
    return format_html('<span class="pc-drift pc-drift-replaced" style="{}">drift: replaced</span>', REPLACED_STYLE)


@admin.register(ProviderVersion)
class ProviderVersionAdmin(ReadOnlyAdmin):
    list_display = (
        "template",
        "workspace",
        "provider",
        "model_id",
        "provider_version_key",
        "drift",
        "first_seen_at",
        "last_seen_at",
        "seen_count",
    )
    list_filter = ("provider", "workspace")
    search_fields = ("template__key", "model_id", "provider_version_key")
    list_select_related = ("template", "workspace")

    def get_queryset(self, request):
        return with_drift(super().get_queryset(request))

    @admin.display(description="drift")
    def drift(self, record: ProviderVersion) -> str:
        return drift_badge(record)


class ProviderVersionInline(TemplateHistoryInline):
    """The exact model versions the providers answered with for this template (ensure-version, hourly)."""

    model = ProviderVersion
    fk_name = "template"
    verbose_name = "provider model version"
    verbose_name_plural = "Provider model versions"
    fields = ["provider", "model_id", "provider_version_key", "drift", "first_seen_at", "last_seen_at", "seen_count"]
    readonly_fields = fields

    def get_queryset(self, request) -> QuerySet[ProviderVersion]:
        return with_drift(super().get_queryset(request)).order_by("provider", "model_id", "-last_seen_at")

    @admin.display(description="drift")
    def drift(self, record: ProviderVersion) -> str:
        return drift_badge(record)


# The template page shows its provider versions: this app contributes the inline to the templates' admin.
PromptTemplateAdmin.inlines = [*PromptTemplateAdmin.inlines, ProviderVersionInline]
