"""The authors' admin: templates (edited through the services), their versions and their history.

Every write goes through templates_app.services. Errors the services raise (ApiError) or the engine raises
(RenderError) become form errors or admin messages. Moving `production` (publishing, rolling back) and
lifecycle changes need the `templates_app.publish_template` permission.
"""

from collections.abc import Callable

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime

from promptconfig.common.admin import ReadOnlyAdmin, admin_actor
from promptconfig.common.errors import ApiError
from promptconfig_client.engine import RenderError
from templates_app import admin_refinements, admin_views
from templates_app.admin_bulk import BULK_ACTIONS, BulkActionForm
from templates_app.admin_inlines import TemplateVersionInline, event_history_html
from templates_app.admin_views import can_publish
from templates_app.forms import LabelForm, PromptTemplateForm
from templates_app.models import PromptTemplate, TemplateLabel, TemplateVersion
from templates_app.review import save_warnings
from templates_app.selectors import version_get
from templates_app.services import (
    template_create,
    template_delete,
    template_fork,
    template_set_lifecycle,
    template_update,
    version_publish,
)

SERVICE_ERROR_ATTR = "_templates_app_service_error"
__all__ = ["admin_refinements"]  # registers the refinements' admin
Status = PromptTemplate.Status


class Skip(Exception):
    """An action had nothing to do for this template (the message says why)."""


class ServiceRejected(Exception):
    """A service refused a save; raised out of the admin's transaction so that it rolls back."""

    def __init__(self, error: Exception):
        super().__init__(str(error))
        self.error = error


def error_text(error: Exception) -> str:
    return getattr(error, "message", None) or str(error)


# --- Templates ------------------------------------------------------------------------------------
@admin.register(PromptTemplate)
class PromptTemplateAdmin(admin.ModelAdmin):
    form = PromptTemplateForm
    # Apps above this one add theirs (versions: the provider model versions).
    inlines = [TemplateVersionInline]
    list_display = [
        "key",
        "lang",
        "name",
        "category",
        "status_display",
        "served",
        "latest",
        "active",
        "updated",
    ]
    list_display_links = ["key"]
    list_filter = ["category", "language", "status", "tags", "is_active", "workspace"]
    search_fields = ["key", "name", "description"]
    ordering = ["key", "language"]
    list_per_page = 50
    actions = ["publish_latest", "rollback", "deprecate", "archive", "restore_to_draft", "fork", *BULK_ACTIONS]
    action_form = BulkActionForm  # the bulk actions' value (a status, a tag)
    change_form_template = "admin/templates_app/prompttemplate/change_form.html"
    # Apps above this one add links to their pages about a template: (label, URL name taking its pk, element id).
    object_tools: list[tuple[str, str, str]] = []

    content_fieldset = ("Content", {"fields": ["body", "variables", "variable_schema", "model_config"]})
    description_fieldset = (
        "Description",
        {"fields": ["category", "description", "tag_names", "metadata", ("priority", "node_name"), "is_active"]},
    )
    save_fieldset = ("Save", {"fields": ["change_note", "publish_now"], "classes": ["pc-save-fieldset"]})
    add_fieldsets = [
        (None, {"fields": ["workspace", ("key", "language"), "name"]}),
        content_fieldset,
        description_fieldset,
        save_fieldset,
    ]
    change_fieldsets = [
        (None, {"fields": [("workspace", "key", "language"), "name", ("status_display", "serving_summary")]}),
        content_fieldset,
        description_fieldset,
        save_fieldset,
        (
            "Usage",
            {
                "classes": ["collapse"],
                "fields": [
                    ("usage_count", "success_rate_display"),
                    ("average_rating_display", "rating_count", "feedback_count"),
                    ("created_by", "created_at", "updated_at"),
                ],
            },
        ),
        ("Event history", {"classes": ["collapse"], "fields": ["event_history"]}),
    ]
    change_readonly_fields = [
        "workspace",
        "key",
        "language",
        "status_display",
        "serving_summary",
        "usage_count",
        "success_rate_display",
        "average_rating_display",
        "rating_count",
        "feedback_count",
        "created_by",
        "created_at",
        "updated_at",
        "event_history",
    ]

    class Media:
        css = {"all": ["templates_app/admin.css"]}
        js = ["templates_app/body.js"]

    @admin.display(description="newest events (all of them: HISTORY)")
    def event_history(self, template: PromptTemplate) -> str:
        return event_history_html(template)

    # --- permissions ---------------------------------------------------------------------------
    def has_publish_permission(self, request, obj=None) -> bool:
        return can_publish(request)

    # --- changelist ----------------------------------------------------------------------------
    def get_queryset(self, request) -> QuerySet[PromptTemplate]:
        return (
            super().get_queryset(request).filter(deleted_at__isnull=True).select_related("served_version", "workspace")
        )

    @admin.display(description="lang", ordering="language")
    def lang(self, template: PromptTemplate) -> str:
        return template.language

    @admin.display(description="status", ordering="status")
    def status_display(self, template: PromptTemplate) -> str:
        return format_html('<span class="pc-status pc-status-{}">{}</span>', template.status, template.status)

    @admin.display(description="served", ordering="served_version__number")
    def served(self, template: PromptTemplate) -> str:
        return f"v{template.served_version.number}" if template.served_version else "-"

    @admin.display(description="latest", ordering="latest_version_number")
    def latest(self, template: PromptTemplate) -> str:
        return f"v{template.latest_version_number}" if template.latest_version_number else "-"

    @admin.display(description="active", boolean=True, ordering="is_active")
    def active(self, template: PromptTemplate) -> bool:
        return template.is_active

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, template: PromptTemplate) -> str:
        return date_format(localtime(template.updated_at), "Y-m-d")

    @admin.display(description="success rate")
    def success_rate_display(self, template: PromptTemplate) -> str:
        return f"{template.success_rate:.1%}" if template.usage_count else "-"

    @admin.display(description="average rating")
    def average_rating_display(self, template: PromptTemplate) -> str:
        return f"{template.average_rating:.2f} / 5" if template.rating_count else "-"

    @admin.display(description="production")
    def serving_summary(self, template: PromptTemplate) -> str:
        if template.served_version is None:
            return "nothing served"
        if template.served_version.number == template.latest_version_number:
            return format_html("serves <strong>v{}</strong> (the latest)", template.served_version.number)
        return format_html(
            "serves <strong>v{}</strong>; the latest is <strong>v{}</strong> (not served)",
            template.served_version.number,
            template.latest_version_number,
        )

    # --- forms ---------------------------------------------------------------------------------
    def get_fieldsets(self, request, obj=None):
        return self.change_fieldsets if obj else self.add_fieldsets

    def get_readonly_fields(self, request, obj=None):
        return self.change_readonly_fields if obj else []

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj else []

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        attrs = {"can_publish": can_publish(request), "service_error": getattr(request, SERVICE_ERROR_ATTR, None)}
        return type(form.__name__, (form,), attrs)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRejected as rejected:
            # The save was rolled back with the admin's transaction; show the form again with the error.
            setattr(request, SERVICE_ERROR_ATTR, rejected.error)
            return super().changeform_view(request, object_id, form_url, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        context = dict(extra_context or {})
        template = self.get_object(request, unquote(object_id))
        if template is not None:
            versions = list(template.versions.order_by("-number"))
            served = template.served_version.number if template.served_version else None
            context.update(
                preview_url=reverse("admin:templates_app_prompttemplate_preview", args=[template.pk]),
                compare_url=reverse("admin:templates_app_prompttemplate_compare", args=[template.pk]),
                publish_url=reverse("admin:templates_app_prompttemplate_publish", args=[template.pk]),
                can_publish=can_publish(request),
                label_url=reverse("admin:templates_app_prompttemplate_label", args=[template.pk]),
                label_form=LabelForm(
                    versions=versions, served_number=served, initial={"number": served}, prefix="label"
                ),
                other_labels=[label for label in template.labels.all() if label.name != TemplateLabel.PRODUCTION],
                extra_tools=[(label, reverse(name, args=[template.pk]), id_) for label, name, id_ in self.object_tools],
            )
        return super().change_view(request, object_id, form_url, context)

    def save_model(self, request, obj: PromptTemplate, form, change: bool) -> None:
        data = form.cleaned_data
        publisher = can_publish(request)
        publish = bool(data.get("publish_now")) and publisher
        content = {
            "template": data["body"],
            "variables": data["variables"],
            "variable_schema": data["variable_schema"],
            "model_config": data["model_config"],
        }
        described = {
            "name": data["name"],
            "category": data["category"],
            "description": data["description"],
            "metadata": data["metadata"],
            "priority": data["priority"],
            "node_name": data["node_name"],
            "is_active": data["is_active"],
        }
        try:
            if change:
                template = PromptTemplate.objects.select_for_update().get(pk=obj.pk)  # not the form-mutated copy
                latest_before = template.latest_version_number
                template_update(
                    template,
                    actor=admin_actor(request),
                    publish=publish,
                    change_note=data["change_note"],
                    tags=data["tag_names"],
                    **content,
                    **described,
                )
                if template.latest_version_number > latest_before and not publish:
                    served = template.served_version.number if template.served_version else None
                    self.message_user(
                        request,
                        f"Saved v{template.latest_version_number} as a candidate; production still serves v{served}.",
                        messages.INFO,
                    )
            else:
                template = template_create(
                    workspace=data["workspace"],
                    actor=admin_actor(request),
                    key=data.get("key") or None,
                    language=data.get("language") or None,
                    tags=data["tag_names"],
                    change_note=data["change_note"],
                    status=Status.PUBLISHED if publish else Status.DRAFT,
                    **content,
                    **described,
                )
        except (ApiError, RenderError) as error:
            raise ServiceRejected(error) from error
        for warning in save_warnings(version_get(template=template, number=template.latest_version_number)):
            self.message_user(request, warning["message"], messages.WARNING)
        # What the admin's response and log read: the saved row.
        obj.pk, obj.key, obj.language = template.pk, template.key, template.language
        obj._state.adding, obj._state.db = False, template._state.db

    def save_related(self, request, form, formsets, change: bool) -> None:
        """Tags were saved by the service; the inlines are read-only."""

    def construct_change_message(self, request, form, formsets, add=False):
        return super().construct_change_message(request, form, [], add)  # the read-only inlines never change

    # --- deleting is a soft delete --------------------------------------------------------------
    def get_deleted_objects(self, objs, request):
        objs = list(objs)
        perms_needed = set() if all(self.has_delete_permission(request, o) for o in objs) else {"prompt template"}
        summary = {self.opts.verbose_name_plural: len(objs)}
        return [f"{obj} — its versions and history are kept" for obj in objs], summary, perms_needed, []

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ApiError as error:  # refused (templates include it): nothing was deleted
            self.message_user(request, error.message, messages.ERROR)
            return redirect(reverse("admin:templates_app_prompttemplate_change", args=[object_id]))

    def delete_model(self, request, obj: PromptTemplate) -> None:
        template_delete(template=obj, actor=admin_actor(request))

    def delete_queryset(self, request, queryset) -> None:
        for template in queryset:
            try:
                with transaction.atomic():
                    template_delete(template=template, actor=admin_actor(request))
            except ApiError as error:
                self.message_user(request, f"{template} was not deleted: {error.message}", messages.ERROR)

    # --- custom views ---------------------------------------------------------------------------
    def history_view(self, request, object_id, extra_context=None):
        return admin_views.history_view(self, request, object_id)

    def get_urls(self):
        def view(function: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
            return self.admin_site.admin_view(lambda request, object_id: function(self, request, object_id))

        info = f"{self.opts.app_label}_{self.opts.model_name}"
        custom = [
            path("<path:object_id>/preview/", view(admin_views.preview_view), name=f"{info}_preview"),
            path("<path:object_id>/compare/", view(admin_views.compare_view), name=f"{info}_compare"),
            path("<path:object_id>/publish/", view(admin_views.publish_view), name=f"{info}_publish"),
            path("<path:object_id>/label/", view(admin_views.label_view), name=f"{info}_label"),
            path(
                "variables/",
                self.admin_site.admin_view(lambda request: admin_views.body_variables_view(self, request)),
                name=f"{info}_variables",
            ),
        ]
        return custom + super().get_urls()

    # --- actions --------------------------------------------------------------------------------
    def _each(self, request, queryset, work: Callable[[PromptTemplate], str], done_verb: str) -> None:
        """Run `work` on each template; report what it did, what it skipped (Skip) and what was refused."""
        done, skipped, failed = [], [], []
        for template in queryset.select_related("served_version", "workspace"):
            try:
                done.append(work(template))
            except Skip as skip:
                skipped.append(str(skip))
            except (ApiError, RenderError) as error:
                failed.append(f"{template}: {error_text(error)}")
        if done:
            self.message_user(request, f"{done_verb}: {'; '.join(done)}.", messages.SUCCESS)
        if skipped:
            self.message_user(request, f"Nothing to do: {'; '.join(skipped)}.", messages.WARNING)
        if failed:
            self.message_user(request, f"Refused: {'; '.join(failed)}", messages.ERROR)

    @admin.action(description="Publish the latest version", permissions=["publish"])
    def publish_latest(self, request, queryset) -> None:
        actor = admin_actor(request)

        def work(template: PromptTemplate) -> str:
            notes = []
            served = template.served_version
            if served is None or served.number != template.latest_version_number:
                version_publish(template=template, number=template.latest_version_number, actor=actor)
                notes.append(f"serves v{template.latest_version_number}")
            if template.status == Status.DRAFT:
                template_set_lifecycle(template=template, status=Status.PUBLISHED, actor=actor, reason="admin publish")
                notes.append("status published")
            if not notes:
                raise Skip(f"{template} already serves v{template.latest_version_number}")
            return f"{template} {' and '.join(notes)}"

        self._each(request, queryset, work, "Published")

    @admin.action(description="Roll back to the previous version", permissions=["publish"])
    def rollback(self, request, queryset) -> None:
        actor = admin_actor(request)

        def work(template: PromptTemplate) -> str:
            served = template.served_version
            previous = (
                template.versions.filter(number__lt=served.number).order_by("-number").first() if served else None
            )
            if previous is None:
                raise Skip(f"{template} has no version before v{served.number if served else '?'}")
            version_publish(template=template, number=previous.number, actor=actor, rollback=True)
            return f"{template} serves v{previous.number} again"

        self._each(request, queryset, work, "Rolled back")

    def _lifecycle(self, request, queryset, status: str, verb: str) -> None:
        actor = admin_actor(request)

        def work(template: PromptTemplate) -> str:
            if template.status == status:
                raise Skip(f"{template} is already {status}")
            template_set_lifecycle(template=template, status=status, actor=actor, reason="admin action")
            return str(template)

        self._each(request, queryset, work, verb)

    @admin.action(description="Deprecate", permissions=["publish"])
    def deprecate(self, request, queryset) -> None:
        self._lifecycle(request, queryset, Status.DEPRECATED, "Deprecated")

    @admin.action(description="Archive", permissions=["publish"])
    def archive(self, request, queryset) -> None:
        self._lifecycle(request, queryset, Status.ARCHIVED, "Archived")

    @admin.action(description="Restore archived templates to draft", permissions=["publish"])
    def restore_to_draft(self, request, queryset) -> None:
        self._lifecycle(request, queryset, Status.DRAFT, "Restored to draft")

    @admin.action(description="Fork (copy to <key>_fork as a draft)", permissions=["add"])
    def fork(self, request, queryset) -> None:
        actor = admin_actor(request)

        def work(template: PromptTemplate) -> str:
            fork = template_fork(template=template, new_key=free_fork_key(template), actor=actor, status=Status.DRAFT)
            return f"{template} → {fork.key}"

        self._each(request, queryset, work, "Forked")


def free_fork_key(template: PromptTemplate) -> str:
    """`<key>_fork`, else `<key>_fork2`, `<key>_fork3`…: the first key no live template of the workspace uses."""
    taken = set(
        PromptTemplate.objects.filter(
            workspace_id=template.workspace_id, key__startswith=f"{template.key[:90]}_fork", deleted_at__isnull=True
        ).values_list("key", flat=True)
    )
    number = 1
    while True:
        suffix = "_fork" if number == 1 else f"_fork{number}"
        key = f"{template.key[: 100 - len(suffix)]}{suffix}"
        if (
            key not in taken
            and not PromptTemplate.objects.filter(
                workspace_id=template.workspace_id, key=key, deleted_at__isnull=True
            ).exists()
        ):
            return key
        number += 1


# --- Versions and events: read-only ---------------------------------------------------------------
@admin.register(TemplateVersion)
class TemplateVersionAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "language", "created_by", "created", "change_note", "published"]
    list_filter = ["template__workspace", "template__language", "created_at"]
    search_fields = ["template__key", "change_note", "created_by"]
    list_select_related = ["template"]
    fields = [
        "template",
        "number",
        "body",
        "variables",
        "used_variables",
        "includes",
        "variable_schema",
        "model_config",
        "metadata",
        "change_note",
        "created_by",
        "created_at",
        "first_published_at",
    ]

    class Media:
        css = {"all": ["templates_app/admin.css"]}

    @admin.display(description="language", ordering="template__language")
    def language(self, version: TemplateVersion) -> str:
        return version.template.language

    @admin.display(description="created", ordering="created_at")
    def created(self, version: TemplateVersion) -> str:
        return date_format(localtime(version.created_at), "Y-m-d H:i")

    @admin.display(description="first published", ordering="first_published_at")
    def published(self, version: TemplateVersion) -> str:
        return date_format(localtime(version.first_published_at), "Y-m-d") if version.first_published_at else "-"

