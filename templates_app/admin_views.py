"""The template admin's own pages: live preview, side-by-side compare, and serving a version.

Each view takes the PromptTemplateAdmin it belongs to (for its queryset, permissions and context).
"""

import difflib
import json
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.contrib.admin import ModelAdmin
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect, JsonResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe

from promptconfig.common.admin import admin_actor
from promptconfig.common.errors import ApiError
from promptconfig.common.variables import PROFILE_VARIABLES, profile_prompt_variables, profile_user_ids
from promptconfig.events.models import Event
from promptconfig_client.engine import MissingVariables, RenderError
from templates_app.forms import CompareForm, LabelForm, PreviewForm, normalize_newlines
from templates_app.models import PromptTemplate, TemplateVersion
from templates_app.rendering import ENGINE, version_render
from templates_app.review import suggestions_for, version_compare
from templates_app.selectors import event_list
from templates_app.serializers import history_name
from templates_app.services import label_delete, label_set, version_publish

LIVE_HEADER = "X-Preview-Live"
PUBLISH_PERMISSION = "templates_app.publish_template"


def can_publish(request: HttpRequest) -> bool:
    return request.user.is_active and request.user.has_perm(PUBLISH_PERMISSION)


def _template_or_404(model_admin: ModelAdmin, request: HttpRequest, object_id: str) -> PromptTemplate:
    template = model_admin.get_object(request, unquote(object_id))
    if template is None:
        raise Http404(f"No live prompt template with id {object_id!r}.")
    if not model_admin.has_view_or_change_permission(request, template):
        raise PermissionDenied
    return template


def _context(model_admin: ModelAdmin, request: HttpRequest, template: PromptTemplate, title: str) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.opts,
        "original": template,
        "title": title,
        "subtitle": str(template),
        "has_view_permission": True,
        "media": model_admin.media,
        "change_url": reverse("admin:templates_app_prompttemplate_change", args=[template.pk]),
        "preview_url": reverse("admin:templates_app_prompttemplate_preview", args=[template.pk]),
        "compare_url": reverse("admin:templates_app_prompttemplate_compare", args=[template.pk]),
    }


def _versions(template: PromptTemplate) -> list[TemplateVersion]:
    return list(template.versions.select_related("template").order_by("-number"))


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


# --- Preview ---------------------------------------------------------------------------------------
def render_preview(version: TemplateVersion, variables: dict[str, Any]) -> dict[str, Any]:
    """{"output"} on success, {"missing", "error"} when variables are missing, {"error", "details"} otherwise."""
    try:
        return {"ok": True, "output": version_render(version=version, variables=variables)}
    except MissingVariables as error:
        return {"missing": list(error.missing), "error": error.message}
    except (RenderError, ApiError) as error:
        return {"error": error.message, "details": _detail_lines(error.details)}


def _detail_lines(details: dict[str, Any] | None) -> list[tuple[str, str]]:
    """{"topic": ["'ab' is too short"], "line": 3} -> [("topic", "'ab' is too short"), ("line", "3")]."""
    lines = []
    for name, value in (details or {}).items():
        text = "; ".join(str(item) for item in value) if isinstance(value, list | tuple) else str(value)
        lines.append((str(name), text))
    return lines


def preview_view(model_admin: ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    template = _template_or_404(model_admin, request, object_id)
    versions = _versions(template)
    served_number = template.served_version.number if template.served_version else None
    by_number = {version.number: version for version in versions}
    result: dict[str, Any] | None = None
    version = None

    users = profile_user_ids(workspace_id=template.workspace_id)
    if request.method == "POST":
        form = PreviewForm(request.POST, versions=versions, served_number=served_number, users=users)
        if form.is_valid():
            version = by_number[form.cleaned_data["version"]]
            try:
                variables = _profile_variables(template, form.cleaned_data["profile"])
                result = render_preview(version, {**variables, **form.cleaned_data["variables"]})
            except ApiError as error:
                result = {"error": error.message}
        else:
            version = by_number.get(_int_or_none(request.POST.get("version")))
            result = {"error": "; ".join(error for errors in form.errors.values() for error in errors)}
    else:
        number = _int_or_none(request.GET.get("version")) or served_number or template.latest_version_number
        version = by_number.get(number) or (versions[0] if versions else None)
        # Start empty: the first render lists the variables the version needs.
        form = PreviewForm(
            initial={"version": version.number if version else None, "variables": {}},
            versions=versions,
            served_number=served_number,
            users=users,
        )
        result = render_preview(version, {}) if version else None

    context = {
        **_context(model_admin, request, template, "Preview"),
        "form": form,
        "version": version,
        "result": result,
        "suggestions": suggestions_for(version) if version else [],
    }
    if request.method == "POST" and request.headers.get(LIVE_HEADER) == "1":
        return TemplateResponse(request, "admin/templates_app/prompttemplate/preview_result.html", context)
    return TemplateResponse(request, "admin/templates_app/prompttemplate/preview.html", context)


def _profile_variables(template: PromptTemplate, user_id: str) -> dict[str, Any]:
    return dict(profile_prompt_variables(workspace_id=template.workspace_id, user_id=user_id)) if user_id else {}


def body_variables_view(model_admin: ModelAdmin, request: HttpRequest) -> HttpResponse:
    """POST body=<template body>: the variables and includes it uses, or the syntax error (the editor shows them
    as the author types)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not (model_admin.has_view_permission(request) or model_admin.has_add_permission(request)):
        raise PermissionDenied
    body = normalize_newlines(request.POST.get("body", ""))
    try:
        answer = {"variables": ENGINE.variables(body), "includes": ENGINE.includes(body), "error": ""}
    except RenderError as error:
        answer = {"variables": [], "includes": [], "error": error.message}
    answer["profile_variables"] = sorted(set(answer["variables"]) & PROFILE_VARIABLES)
    return JsonResponse(answer)


# --- Labels other than production ------------------------------------------------------------------
def label_view(model_admin: ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """POST name=<label>&number=<n> points a label at version n; POST remove=<label> removes it. Needs the
    publish permission (moving labels is part of it)."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not model_admin.has_publish_permission(request):
        raise PermissionDenied
    template = _template_or_404(model_admin, request, object_id)
    change_url = reverse("admin:templates_app_prompttemplate_change", args=[template.pk])
    try:
        if "remove" in request.POST:
            name = request.POST["remove"]
            label_delete(template=template, name=name, actor=admin_actor(request))
            messages.success(request, f"Removed the label '{name}'.")
            return HttpResponseRedirect(change_url)
        form = LabelForm(request.POST, versions=_versions(template), served_number=None, prefix="label")
        if not form.is_valid():
            for errors in form.errors.values():
                for error in errors:
                    messages.error(request, error)
            return HttpResponseRedirect(change_url)
        name, number = form.cleaned_data["name"], form.cleaned_data["number"]
        label_set(template=template, name=name, number=number, actor=admin_actor(request))
    except ApiError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(change_url)
    model_admin.log_change(request, template, f"Label {name} points at v{number}.")
    messages.success(request, f"The label '{name}' now points at v{number}.")
    return HttpResponseRedirect(change_url)


# --- Compare ---------------------------------------------------------------------------------------
def compare_view(model_admin: ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    template = _template_or_404(model_admin, request, object_id)
    versions = _versions(template)
    served_number = template.served_version.number if template.served_version else None
    by_number = {version.number: version for version in versions}
    latest = template.latest_version_number
    defaults = {"from": max(latest - 1, 1), "to": latest}
    data = {name: request.GET.get(name) or defaults[name] for name in ("from", "to")}
    form = CompareForm(data, versions=versions, served_number=served_number)
    context = {**_context(model_admin, request, template, "Compare versions"), "form": form}
    if form.is_valid():
        older, newer = by_number[form.cleaned_data["from"]], by_number[form.cleaned_data["to"]]
        only_changes = request.GET.get("context") == "1"
        table = difflib.HtmlDiff(tabsize=4).make_table(
            older.body.splitlines(),
            newer.body.splitlines(),
            f"v{older.number}",
            f"v{newer.number}",
            context=only_changes,
            numlines=3,
        )
        # Plain spaces, so that long prompt lines wrap between words (the CSS keeps them with pre-wrap).
        table = table.replace("&nbsp;", " ")
        compared = version_compare(older, newer)
        context.update(
            older=older,
            newer=newer,
            only_changes=only_changes,
            diff_table=mark_safe(table),  # difflib.HtmlDiff escapes the bodies
            compared=compared,
            similarity_percent=round(compared["similarity"] * 100, 1),
            identical=older.body == newer.body,
            metadata_changes=_pretty_changes(compared["metadata_changes"]),
            model_config_changes=_pretty_changes(compared["model_config_changes"]),
            schema_changed=older.variable_schema != newer.variable_schema,
        )
    return TemplateResponse(request, "admin/templates_app/prompttemplate/compare.html", context)


def _pretty_changes(changes: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    def show(value: Any) -> str:
        return "-" if value is None else json.dumps(value, ensure_ascii=False)

    return [(path, show(change["from"]), show(change["to"])) for path, change in changes.items()]


# --- Serving a version (publish / roll back) -------------------------------------------------------
def publish_view(model_admin: ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """POST publish=<n> or rollback=<n>: point production at version n. Needs the publish permission."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not model_admin.has_publish_permission(request):
        raise PermissionDenied
    template = _template_or_404(model_admin, request, object_id)
    change_url = reverse("admin:templates_app_prompttemplate_change", args=[template.pk])
    rollback = "rollback" in request.POST
    number = _int_or_none(request.POST.get("rollback" if rollback else "publish"))
    if number is None:
        messages.error(request, "Choose a version to serve.")
        return HttpResponseRedirect(change_url)
    try:
        version_publish(template=template, number=number, actor=admin_actor(request), rollback=rollback)
    except ApiError as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(change_url)
    verb = "Rolled back" if rollback else "Published"
    model_admin.log_change(request, template, f"{verb}: production serves v{number}.")
    messages.success(request, f"{verb}: production now serves v{number} of {template}.")
    return HttpResponseRedirect(change_url)


@dataclass(frozen=True)
class _Actor:
    name: str

    def get_username(self) -> str:
        return self.name

    def get_full_name(self) -> str:
        return ""


@dataclass(frozen=True)
class _Action:
    """A template event in the shape of the admin's history rows (LogEntry)."""

    event: Event

    @property
    def action_time(self):
        return self.event.occurred_at

    @property
    def user(self) -> _Actor:
        return _Actor(self.event.actor or "system")

    def get_change_message(self) -> str:
        data = {key: value for key, value in self.event.data.items() if key not in ("version", "language")}
        number = self.event.data.get("version")
        version = f" v{number}" if isinstance(number, int) else ""
        details = ", ".join(f"{key}: {value}" for key, value in data.items())
        return f"{history_name(self.event.type).replace('_', ' ').title()}{version}" + (
            f" ({details})" if details else ""
        )


def history_view(model_admin: ModelAdmin, request: HttpRequest, object_id: str) -> HttpResponse:
    """The HISTORY button: the template's own event history (API and admin changes alike), oldest first."""
    template = _template_or_404(model_admin, request, object_id)
    events = event_list(template=template)
    paginator = Paginator([_Action(event) for event in events], 100)
    page = paginator.get_page(request.GET.get(PAGE_VAR, 1))
    context = {
        **_context(model_admin, request, template, f"Change history: {template}"),
        "subtitle": None,
        "action_list": page,
        "page_range": paginator.get_elided_page_range(page.number),
        "page_var": PAGE_VAR,
        "pagination_required": paginator.count > 100,
        "module_name": str(model_admin.opts.verbose_name_plural).capitalize(),
        "object": template,
    }
    return TemplateResponse(request, "admin/object_history.html", context)
