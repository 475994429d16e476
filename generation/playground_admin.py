"""The playground page of a template in the admin (/admin/playground/<template id>/), linked from its page.

Pick a version (or type an unsaved body), a profile and/or JSON variables, a model and its parameters; Render
shows the prompts, Run also sends them to the configured LLM and shows the output, tokens and latency, side by
side when a second version is compared. Each run is recorded (generation.models.PlaygroundRun) and listed.
Rendering needs the view permission on templates, running the change permission.
"""

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse

from generation.playground import Side, render_side, run_list, run_sides
from promptconfig.common import llm
from promptconfig.common.admin import admin_actor
from promptconfig.common.errors import ApiError
from promptconfig.common.variables import profile_prompt_variables, profile_user_ids
from templates_app.admin import PromptTemplateAdmin
from templates_app.forms import PrettyJSONField, version_label
from templates_app.models import PromptTemplate, TemplateVersion

UNSAVED = "body"
MODEL_ID = r"^[A-Za-z0-9][A-Za-z0-9._:@/-]{0,199}$"


class PlaygroundForm(forms.Form):
    a_source = forms.ChoiceField(label="Version A")
    a_body = forms.CharField(
        label="Unsaved body A", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    compare = forms.BooleanField(label="Compare side by side with version B", required=False)
    b_source = forms.ChoiceField(label="Version B", required=False)
    b_body = forms.CharField(
        label="Unsaved body B", required=False, strip=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    profile = forms.ChoiceField(
        label="Profile", required=False, help_text="Its variables, as a generate call gets them."
    )
    variables = PrettyJSONField(
        label="Variables (JSON)", rows=5, help_text='Over the profile\'s, e.g. {"topic": "volcanoes"}.'
    )
    model = forms.RegexField(MODEL_ID, label="Model", max_length=200)
    temperature = forms.FloatField(label="Temperature", required=False, min_value=0, max_value=2)
    max_tokens = forms.IntegerField(label="Max tokens", required=False, min_value=1, max_value=32768)

    def __init__(self, *args: Any, versions: list[TemplateVersion], served: int | None, users: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(str(v.number), version_label(v, served)) for v in versions] + [(UNSAVED, "Unsaved body…")]
        self.fields["a_source"].choices = choices
        self.fields["b_source"].choices = choices
        self.fields["profile"].choices = [("", "— none —"), *((user, user) for user in users)]
        for name in ("a_body", "b_body"):
            self.fields[name].widget.attrs.update(
                {"class": "pc-code pc-body pc-playground-body", "spellcheck": "false"}
            )

    def clean(self):
        data = super().clean()
        for side in ("a", "b") if data.get("compare") else ("a",):
            if data.get(f"{side}_source") == UNSAVED and not (data.get(f"{side}_body") or "").strip():
                self.add_error(f"{side}_body", "Type the body to try, or pick a saved version.")
            if side == "b" and not data.get("b_source"):
                self.add_error("b_source", "Pick the version to compare with.")
        return data

    def params(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name]
            for name in ("temperature", "max_tokens")
            if self.cleaned_data.get(name) is not None
        }


def _side(label: str, source: str, body: str, by_number: dict[int, TemplateVersion]) -> Side:
    if source == UNSAVED:
        return Side(label=f"{label}: unsaved body", body=body.replace("\r\n", "\n"))
    version = by_number[int(source)]
    return Side(label=f"{label}: v{version.number}", version=version, body=version.body)


def _variables(template: PromptTemplate, data: dict[str, Any]) -> tuple[dict[str, Any], str]:
    """The profile's variables (if one is picked) under the JSON ones; or an error message."""
    variables: dict[str, Any] = {}
    if data.get("profile"):
        try:
            variables = dict(profile_prompt_variables(workspace_id=template.workspace_id, user_id=data["profile"]))
        except ApiError as error:
            return {}, error.message
    return {**variables, **(data.get("variables") or {})}, ""


def _playground_page(request: HttpRequest, template_id: int) -> HttpResponse:
    if not request.user.has_perm("templates_app.view_prompttemplate"):
        raise PermissionDenied
    template = (
        PromptTemplate.objects.filter(pk=template_id, deleted_at__isnull=True)
        .select_related("workspace", "served_version")
        .first()
    )
    if template is None:
        raise Http404(f"No live prompt template with id {template_id}.")
    versions = list(template.versions.order_by("-number"))
    by_number = {version.number: version for version in versions}
    served = template.served_version.number if template.served_version else None
    users = profile_user_ids(workspace_id=template.workspace_id)
    can_run = request.user.has_perm("templates_app.change_prompttemplate")
    start = str(served or template.latest_version_number)
    initial = {"a_source": start, "b_source": start, "model": settings.LLM_MODEL}
    form = PlaygroundForm(
        request.POST if request.method == "POST" else None,
        initial=initial,
        versions=versions,
        served=served,
        users=users,
    )
    sides: list[Side] = []
    notice = ""
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        variables, notice = _variables(template, data)
        if not notice:
            sides = [_side("A", data["a_source"], data["a_body"], by_number)]
            if data["compare"]:
                sides.append(_side("B", data["b_source"], data["b_body"], by_number))
            for side in sides:
                render_side(template, side, variables)
            if request.POST.get("action") == "run":
                if not can_run:
                    raise PermissionDenied
                if not llm.configured():
                    notice = llm.NOT_CONFIGURED
                else:
                    run_sides(
                        template,
                        sides,
                        actor=admin_actor(request),
                        model=data["model"],
                        params=form.params(),
                        profile_user_id=data.get("profile") or "",
                    )
    context = {
        **admin.site.each_context(request),
        "title": "Playground",
        "subtitle": str(template),
        "opts": PromptTemplate._meta,
        "original": template,
        "change_url": reverse("admin:templates_app_prompttemplate_change", args=[template.pk]),
        "page_url": reverse("admin-playground", args=[template.pk]),
        "form": form,
        "sides": sides,
        "notice": notice,
        "configured": llm.configured(),
        "not_configured": llm.NOT_CONFIGURED,
        "can_run": can_run,
        "runs": run_list(template=template),
    }
    return TemplateResponse(request, "admin/generation/playground.html", context)


playground_admin_page = admin.site.admin_view(_playground_page)

# The template page links here: this app contributes the object tool to the templates' admin.
PromptTemplateAdmin.object_tools = [
    *PromptTemplateAdmin.object_tools,
    ("Playground", "admin-playground", "tool-playground"),
]
