"""Bulk jobs in the admin: the jobs list with progress bars and per-item results, and the template list's bulk
actions, which create the same jobs as POST /api/v1/bulk/templates (one per workspace of the selection)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from promptconfig.common.admin import RecordAdmin, admin_actor
from promptconfig.common.errors import ApiError
from templates_app.bulk import MAX_ITEMS, bulk_job_create
from templates_app.models import BulkItem, BulkJob, PromptTemplate
from templates_app.tasks import bulk_job_run_task

Operation = BulkJob.Operation


class BulkActionForm(helpers.ActionForm):
    """The action bar, with the value a bulk action needs (a status, a tag)."""

    value = forms.CharField(
        required=False,
        label="Value",
        max_length=64,
        help_text="status or tag for the bulk actions",
        widget=forms.TextInput(attrs={"placeholder": "status / tag", "size": 14}),
    )


def _queue(modeladmin, request, queryset, operation: str, item_of) -> None:
    """One job per workspace of the selection; its link in the message. Runs once the jobs are committed."""
    by_workspace: dict[int, list[PromptTemplate]] = {}
    for template in queryset.select_related("workspace").order_by("key", "language"):
        by_workspace.setdefault(template.workspace_id, []).append(template)
    for templates in by_workspace.values():
        if len(templates) > MAX_ITEMS:
            modeladmin.message_user(request, f"Select at most {MAX_ITEMS} templates a job.", messages.ERROR)
            return
        try:
            job = bulk_job_create(
                workspace=templates[0].workspace,
                actor=admin_actor(request),
                operation=operation,
                items=[item_of(template) for template in templates],
            )
        except ApiError as error:
            modeladmin.message_user(request, f"{templates[0].workspace}: {error.message}", messages.ERROR)
            continue
        transaction.on_commit(lambda job_id=str(job.pk): bulk_job_run_task.delay(job_id))
        link = reverse("admin:templates_app_bulkjob_change", args=[job.pk])
        modeladmin.message_user(
            request,
            format_html(
                'Queued bulk job <a href="{}">{} of {} templates</a> in {}.', link, operation, job.total, job.workspace
            ),
            messages.SUCCESS,
        )


def _value(modeladmin, request) -> str:
    value = (request.POST.get("value") or "").strip()
    if not value:
        modeladmin.message_user(request, "Give the value (a status or a tag) beside the action.", messages.ERROR)
    return value


def _target(template: PromptTemplate) -> dict:
    return {"key": template.key, "language": template.language}


@admin.action(description="Bulk job: set the status to Value", permissions=["publish"])
def bulk_set_lifecycle(modeladmin, request, queryset) -> None:
    status = _value(modeladmin, request)
    if status and status not in PromptTemplate.Status.values:
        modeladmin.message_user(request, f"'{status}' is not a status.", messages.ERROR)
    elif status:
        item = lambda t: {**_target(t), "status": status, "reason": "admin bulk action"}  # noqa: E731
        _queue(modeladmin, request, queryset, Operation.SET_LIFECYCLE, item)


@admin.action(description="Bulk job: add the tag Value", permissions=["change"])
def bulk_add_tag(modeladmin, request, queryset) -> None:
    tag = _value(modeladmin, request)
    if tag:
        _queue(modeladmin, request, queryset, Operation.UPDATE_TAGS, lambda t: {**_target(t), "add": [tag]})


@admin.action(description="Bulk job: remove the tag Value", permissions=["change"])
def bulk_remove_tag(modeladmin, request, queryset) -> None:
    tag = _value(modeladmin, request)
    if tag:
        _queue(modeladmin, request, queryset, Operation.UPDATE_TAGS, lambda t: {**_target(t), "remove": [tag]})


@admin.action(description="Bulk job: delete", permissions=["delete"])
def bulk_delete(modeladmin, request, queryset) -> None:
    _queue(modeladmin, request, queryset, Operation.DELETE, _target)


BULK_ACTIONS = [bulk_set_lifecycle, bulk_add_tag, bulk_remove_tag, bulk_delete]


@admin.register(BulkJob)
class BulkJobAdmin(RecordAdmin):
    list_display = ["created_at", "workspace", "operation", "dry_run", "status", "progress_bar", "failed", "created_by"]
    list_display_links = ["created_at"]
    list_filter = ["status", "operation", "dry_run", "workspace"]
    ordering = ["-created_at"]
    list_per_page = 50
    fields = [
        ("workspace", "operation", "dry_run"),
        ("status", "progress_bar"),
        ("total", "done", "failed"),
        ("created_by", "created_at", "started_at", "finished_at"),
        "results",
    ]
    readonly_fields = [name for row in fields for name in (row if isinstance(row, tuple) else (row,))]
    actions = ["resume"]

    class Media:
        css = {"all": ["templates_app/admin.css"]}

    @admin.action(description="Resume: queue again from the first unprocessed item")
    def resume(self, request, queryset) -> None:
        """For a job whose task was lost (no broker and a request killed by its timeout, a purged queue): items
        already processed are skipped, so queueing a running job again applies nothing twice."""
        unfinished = [str(pk) for pk in queryset.filter(finished_at__isnull=True).values_list("pk", flat=True)]
        for job_id in unfinished:
            transaction.on_commit(lambda job_id=job_id: bulk_job_run_task.delay(job_id))
        self.message_user(request, f"Queued {len(unfinished)} unfinished jobs again.", messages.SUCCESS)

    @admin.display(description="progress")
    def progress_bar(self, job: BulkJob) -> str:
        return format_html(
            '<progress class="pc-progress" max="{}" value="{}"></progress> '
            '<span class="pc-progress-text">{} / {}</span>',
            job.total or 1,
            job.done,
            job.done,
            job.total,
        )

    @admin.display(description="results per item")
    def results(self, job: BulkJob) -> str:
        items = job.items.order_by("index")[:MAX_ITEMS]
        rows = format_html_join(
            "",
            '<tr class="pc-item-{}"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>',
            ((_state(item), item.index, item.key, item.language, _state(item), _error(item)) for item in items),
        )
        return format_html(
            '<table class="pc-bulk-results"><thead><tr><th>#</th><th>key</th><th>language</th><th>result</th>'
            "<th>error</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )


def _state(item: BulkItem) -> str:
    return "pending" if item.ok is None else ("ok" if item.ok else "failed")


def _error(item: BulkItem) -> str:
    if not item.error:
        return ""
    return f"{item.error.get('code', '')}: {item.error.get('message', '')}"
