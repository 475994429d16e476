"""The read-only history on a template's admin page: its versions (with preview, diff and serve buttons) and its
events."""

import json

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timezone import localtime

from promptconfig.common.admin import ReadOnlyInline
from templates_app.admin_views import can_publish
from templates_app.models import PromptTemplate, TemplateLabel, TemplateVersion
from templates_app.selectors import event_list
from templates_app.serializers import history_name

Status = PromptTemplate.Status


def can_view_templates(request: HttpRequest) -> bool:
    return request.user.has_perm("templates_app.view_prompttemplate") or request.user.has_perm(
        "templates_app.change_prompttemplate"
    )


class TemplateHistoryInline(ReadOnlyInline):
    """Read-only rows shown on the template page: whoever may see the template sees them, whatever their
    rights on the inline's own model. Apps above this one base their inlines on it too."""

    def has_view_permission(self, request, obj=None) -> bool:
        return can_view_templates(request)


class TemplateVersionInline(TemplateHistoryInline):
    model = TemplateVersion
    fk_name = "template"
    verbose_name = "version"
    verbose_name_plural = "Version history"
    ordering = ["-number"]
    history_fields = ["version", "created_by", "created_at", "change_note", "labels_display", "first_published_at"]
    readonly_fields = [*history_fields, "tools", "serve"]

    def get_fields(self, request, obj=None) -> list[str]:
        tools = ["tools", "serve"] if can_publish(request) else ["tools"]
        return [*self.history_fields, *tools]

    def get_queryset(self, request) -> QuerySet[TemplateVersion]:
        return (
            super()
            .get_queryset(request)
            .select_related("template__served_version")
            .prefetch_related("labels")
            .order_by("-number")
        )

    @admin.display(description="version")
    def version(self, version: TemplateVersion) -> str:
        if version.pk is None:
            return "-"
        return format_html('<span class="pc-version">v{}</span>', version.number)

    @admin.display(description="labels")
    def labels_display(self, version: TemplateVersion) -> str:
        if version.pk is None:
            return "-"
        names = sorted(label.name for label in version.labels.all())
        if version.number == version.template.latest_version_number:
            names.append(TemplateLabel.LATEST)
        return format_html_join(" ", '<span class="pc-label pc-label-{}">{}</span>', ((n, n) for n in names)) or "-"

    @admin.display(description="")
    def tools(self, version: TemplateVersion) -> str:
        if version.pk is None:
            return ""
        template = version.template
        preview = reverse("admin:templates_app_prompttemplate_preview", args=[template.pk])
        compare = reverse("admin:templates_app_prompttemplate_compare", args=[template.pk])
        links = [format_html('<a href="{}?version={}">preview</a>', preview, version.number)]
        if version.number > 1:
            links.append(
                format_html('<a href="{}?from={}&amp;to={}">diff</a>', compare, version.number - 1, version.number)
            )
        return format_html('<span class="pc-row-tools">{}</span>', format_html_join(" · ", "{}", ((x,) for x in links)))

    @admin.display(description="production")
    def serve(self, version: TemplateVersion) -> str:
        """Buttons of the separate #serve-form (outside the change form, so Enter never publishes)."""
        if version.pk is None:
            return ""
        template = version.template
        served = template.served_version
        if served is not None and served.pk == version.pk:
            return mark_safe('<span class="pc-serving-badge">serving</span>')
        if template.status == Status.ARCHIVED:
            return "-"
        if served is not None and version.number < served.number:
            name, label, css = "rollback", f"Roll back to v{version.number}", "pc-button pc-rollback"
        else:
            name, label, css = "publish", f"Publish v{version.number}", "pc-button pc-publish"
        return format_html(
            '<button type="submit" form="serve-form" name="{}" value="{}" class="{}">{}</button>',
            name,
            version.number,
            css,
            label,
        )


EVENT_HISTORY_ROWS = 50


def event_history_html(template: PromptTemplate) -> str:
    """The newest events of the template's history (the workspace's event log), as a table; the HISTORY
    button shows all of them."""
    events = list(event_list(template=template).order_by("-id")[:EVENT_HISTORY_ROWS])
    if not events:
        return "-"
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code class='pc-event-data'>{}</code></td></tr>",
        (
            (
                localtime(event.occurred_at).strftime("%Y-%m-%d %H:%M:%S"),
                history_name(event.type),
                event.actor,
                f"v{event.data['version']}" if isinstance(event.data.get("version"), int) else "-",
                json.dumps(event.data, ensure_ascii=False),
            )
            for event in events
        ),
    )
    header = "<tr><th>when</th><th>event</th><th>actor</th><th>version</th><th>details</th></tr>"
    return format_html(
        '<table class="pc-event-history"><thead>{}</thead><tbody>{}</tbody></table>', mark_safe(header), rows
    )
