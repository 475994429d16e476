"""A/B tests in the admin: create and control tests, browse assignments, read the results with charts.

Creation and status changes go through abtests.services, as the API's do (route caches, the one-active rule).
"""

from collections.abc import Callable

from django import forms
from django.contrib import admin, messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.timezone import localtime

from abtests import services
from abtests.charts import metric_chart, number_text, p_text, participants_chart
from abtests.models import ABTest, Assignment, MetricEvent
from abtests.tasks import ab_test_analyze_task
from promptconfig.common.admin import RecordAdmin, admin_actor
from promptconfig.common.errors import ApiError

Status = ABTest.Status


class ABTestForm(forms.ModelForm):
    target_metrics = forms.CharField(help_text="Comma-separated metric names; the first is the primary metric.")

    class Meta:
        model = ABTest
        fields = [
            "workspace",
            "name",
            "description",
            "status",
            "template_a",
            "version_a",
            "template_b",
            "version_b",
            "traffic_split",
            "target_metrics",
            "confidence_level",
            "duration_days",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "status" in self.fields:
            self.fields["status"].choices = [(Status.ACTIVE, "active"), (Status.DRAFT, "draft")]
        self.initial["target_metrics"] = ", ".join(self.instance.target_metrics or ["effectiveness"])

    def clean_target_metrics(self) -> list[str]:
        names = [name.strip() for name in self.cleaned_data["target_metrics"].split(",") if name.strip()]
        if not names:
            raise forms.ValidationError("Name at least one metric.")
        return list(dict.fromkeys(names))

    def clean(self):
        data = super().clean()
        workspace, a, b = data.get("workspace"), data.get("template_a"), data.get("template_b")
        for field, template in (("template_a", a), ("template_b", b)):
            if template and workspace and template.workspace_id != workspace.pk:
                self.add_error(field, "Pick a template of the test's workspace.")
        for field, template in (("version_a", a), ("version_b", b)):
            version = data.get(field)
            if version and template and version.template_id != template.pk:
                self.add_error(field, f"Pick a version of {template}.")
        if (
            a
            and b
            and a.pk == b.pk
            and (data.get("version_a") is None or data.get("version_a") == data.get("version_b"))
        ):
            self.add_error("template_b", "A test needs two different templates, or two different pinned versions.")
        return data


@admin.register(ABTest)
class ABTestAdmin(admin.ModelAdmin):
    form = ABTestForm
    # Narrow columns, so that the list fits a 1400 px window beside the admin's sidebar (the workspace is a filter).
    list_display = (
        "name",
        "status",
        "variants",
        "split",
        "participants",
        "winner",
        "expires",
        "results_link",
    )
    list_filter = ("status", "workspace")
    search_fields = ("name", "description", "template_a__key", "template_b__key")
    list_select_related = ("workspace", "template_a", "template_b", "version_a", "version_b")
    actions = ["activate", "pause", "complete", "analyze_now"]

    class Media:
        css = {"all": ["abtests/admin.css"]}

    fieldsets = (
        (None, {"fields": ("workspace", "name", "description", "status")}),
        ("Variants", {"fields": ("template_a", "version_a", "template_b", "version_b", "traffic_split")}),
        ("Measurement", {"fields": ("target_metrics", "confidence_level", "duration_days")}),
        ("Lifecycle", {"fields": ("started_at", "expires_at", "completed_at", "computed_at", "created_by")}),
    )

    def get_readonly_fields(self, request, obj=None):
        lifecycle = ("started_at", "expires_at", "completed_at", "computed_at", "created_by")
        if obj is None:
            return lifecycle
        # Once users are assigned, what they were assigned to stays put; status moves through the actions.
        return (
            *lifecycle,
            "workspace",
            "status",
            "template_a",
            "version_a",
            "template_b",
            "version_b",
            "traffic_split",
            "confidence_level",
            "duration_days",
        )

    def save_model(self, request, obj: ABTest, form, change: bool) -> None:
        if not change:
            obj.created_by = admin_actor(request)
            requested, obj.status = obj.status, Status.DRAFT
            if requested == Status.ACTIVE:
                services.ab_test_start(obj)
        try:
            services.ab_test_save(obj)
        except ApiError as exc:  # a race the form could not see (another test just became active)
            messages.error(request, exc.message)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(participant_count=Count("assignments"))

    @admin.display(description="variants")
    def variants(self, test: ABTest) -> str:
        def side(template, version) -> str:
            pinned = f" v{version.number}" if version else ""
            return f"{template.key}{pinned} ({template.language})"

        return format_html(
            '<span class="ab-variant">A: {}</span><br><span class="ab-variant">B: {}</span>',
            side(test.template_a, test.version_a),
            side(test.template_b, test.version_b),
        )

    @admin.display(description="split", ordering="traffic_split")
    def split(self, test: ABTest) -> str:
        share = round(test.traffic_split * 100)
        return f"{share} / {100 - share}"

    @admin.display(description="expires", ordering="expires_at")
    def expires(self, test: ABTest) -> str:
        return date_format(localtime(test.expires_at), "Y-m-d") if test.expires_at else "-"

    @admin.display(description="users", ordering="participant_count")
    def participants(self, test: ABTest) -> int:
        return test.participant_count

    @admin.display(description="winner")
    def winner(self, test: ABTest) -> str:
        results = test.results or {}
        if results.get("srm", {}).get("mismatch"):
            return "SRM!"
        return {"template_a": "A", "template_b": "B"}.get(results.get("winner"), "-")

    @admin.display(description="results")
    def results_link(self, test: ABTest) -> str:
        return format_html('<a href="{}">results</a>', reverse("admin:abtests_abtest_results", args=[test.pk]))

    # --- actions --------------------------------------------------------------------------------
    def _set_status(self, request, queryset, status: str) -> None:
        for test in queryset:
            try:
                services.ab_test_set_status(test=test, status=status, actor=admin_actor(request))
                if status == Status.COMPLETED:
                    ab_test_analyze_task.delay(str(test.pk))
                self.message_user(request, f"{test}: {status}.")
            except ApiError as exc:
                self.message_user(request, f"{test}: {exc.message}", messages.ERROR)

    @admin.action(description="Activate selected tests")
    def activate(self, request, queryset):
        self._set_status(request, queryset, Status.ACTIVE)

    @admin.action(description="Pause selected tests")
    def pause(self, request, queryset):
        self._set_status(request, queryset, Status.PAUSED)

    @admin.action(description="Complete selected tests")
    def complete(self, request, queryset):
        self._set_status(request, queryset, Status.COMPLETED)

    @admin.action(description="Analyse selected tests now")
    def analyze_now(self, request, queryset):
        for test in queryset:
            ab_test_analyze_task.delay(str(test.pk))
        self.message_user(request, f"Analysis queued for {queryset.count()} test(s).")

    # --- results page ---------------------------------------------------------------------------
    def get_urls(self):
        def view(function: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
            return self.admin_site.admin_view(lambda request, object_id: function(request, object_id))

        return [
            path("<path:object_id>/results/", view(self.results_view), name="abtests_abtest_results"),
            *super().get_urls(),
        ]

    def results_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        test = get_object_or_404(ABTest.objects.select_related("template_a", "template_b", "workspace"), pk=object_id)
        if not self.has_view_permission(request, test):
            return HttpResponse(status=403)
        if request.method == "POST":  # "Analyse now" on the page itself: computed here, in the request
            test = services.ab_test_analyze(test_id=test.pk)
            self.message_user(request, "Results recomputed.")
        results = test.results
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Results: {test.name}",
            "test": test,
            "results": results,
            "participants": participants_chart(results, test.traffic_split) if results else None,
            "metrics": [metric_chart(results, name) for name in results["p_values"]] if results else [],
            "split": f"{round(test.traffic_split * 100)} / {100 - round(test.traffic_split * 100)}",
            "primary_p": p_text(results["p_values"].get(results["primary_metric"])) if results else "",
            "srm_p": p_text(results["srm"]["p_value"]) if results else "",
            "assignments_url": reverse("admin:abtests_assignment_changelist") + f"?test__id__exact={test.pk}",
        }
        return TemplateResponse(request, "admin/abtests/abtest/results.html", context)


@admin.register(Assignment)
class AssignmentAdmin(RecordAdmin):
    list_display = ("user_id", "test", "variant", "created_at")
    list_filter = ("variant", "test")
    search_fields = ("user_id",)
    list_select_related = ("test",)


@admin.register(MetricEvent)
class MetricEventAdmin(RecordAdmin):
    list_display = ("test", "user_id", "variant", "metric", "value_display", "created_at")
    list_filter = ("metric", "variant", "test")
    search_fields = ("user_id",)
    list_select_related = ("test",)

    @admin.display(description="value", ordering="value")
    def value_display(self, event: MetricEvent) -> str:
        return number_text(event.value)
