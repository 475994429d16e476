"""Forms of the authors' admin: editing a template (its row and its working copy), previewing and comparing."""

import json
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from templates_app.models import PromptTemplate, TemplateVersion

VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TAG_MAX_LENGTH = 64


class PrettyJSONField(forms.JSONField):
    """A JSON textarea that shows its value indented; blank or `null` is None."""

    def __init__(self, *, must_be_object: bool = True, rows: int = 6, empty_dict_blank: bool = False, **kwargs: Any):
        self.must_be_object = must_be_object
        self.empty_dict_blank = empty_dict_blank
        kwargs.setdefault("required", False)
        attrs = {"rows": rows, "class": "pc-code pc-json", "spellcheck": "false"}
        kwargs.setdefault("widget", forms.Textarea(attrs=attrs))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        if value is None or value == "" or (self.empty_dict_blank and value == {}):
            return ""
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False, cls=self.encoder)

    def has_changed(self, initial: Any, data: Any) -> bool:
        if self.empty_dict_blank and initial == {} and str(data or "").strip() in ("", "{}", "null"):
            return False
        return super().has_changed(initial, data)

    def to_python(self, value: Any) -> Any:
        value = super().to_python(value)
        if value is not None and self.must_be_object and not isinstance(value, dict):
            raise ValidationError("Enter a JSON object ({…}) or leave it blank.", code="invalid")
        return value


def split_names(value: str) -> list[str]:
    """'a, b,,c ' -> ['a', 'b', 'c'] (order kept, duplicates dropped)."""
    return list(dict.fromkeys(part.strip() for part in (value or "").split(",") if part.strip()))


def normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


class BodyField(forms.CharField):
    """A template body: kept verbatim (no stripping); line endings alone are not a change."""

    def __init__(self, **kwargs: Any):
        super().__init__(strip=False, **kwargs)

    def has_changed(self, initial: Any, data: Any) -> bool:
        return normalize_newlines(initial or "") != normalize_newlines(data or "")


class PromptTemplateForm(forms.ModelForm):
    """The template's descriptive fields plus its working copy (the latest version's content).

    Saving goes through the services (see PromptTemplateAdmin.save_model); this form only validates.
    `can_publish` and `service_error` are set on the class the admin builds for each request.
    """

    can_publish = True
    service_error: Exception | None = None

    body = BodyField(
        label="Body",
        widget=forms.Textarea(attrs={"rows": 16, "cols": 100, "class": "pc-code pc-body", "spellcheck": "false"}),
        help_text='Jinja2: {{ variable }}, {% if %}…{% endif %}, {% include "other_key" %}.',
    )
    variables = forms.CharField(
        label="Declared variables",
        required=False,
        widget=forms.TextInput(attrs={"class": "vTextField pc-code"}),
        help_text="Comma-separated names the template accepts beyond those its body uses.",
    )
    variable_schema = PrettyJSONField(label="Variable schema", help_text="JSON Schema of the variables, or blank.")
    model_config = PrettyJSONField(label="Model config", help_text='e.g. {"provider": "openai", "model": "gpt-4o"}')
    metadata = PrettyJSONField(
        label="Metadata", rows=4, empty_dict_blank=True, help_text="A JSON object, or blank for none."
    )
    tag_names = forms.CharField(
        label="Tags",
        required=False,
        widget=forms.TextInput(attrs={"class": "vTextField"}),
        help_text="Comma-separated tag names.",
    )
    change_note = forms.CharField(
        label="Change note",
        required=False,
        widget=forms.TextInput(attrs={"class": "vTextField"}),
        help_text="What this change does (kept with the new version).",
    )
    publish_now = forms.BooleanField(
        label="Publish now",
        required=False,
        initial=True,
        help_text="Serve the new version at once (moves the production label). Untick to save it as a candidate.",
    )

    class Meta:
        model = PromptTemplate
        fields = [
            "workspace",
            "key",
            "language",
            "name",
            "category",
            "description",
            "priority",
            "node_name",
            "is_active",
        ]
        widgets = {"description": forms.Textarea(attrs={"rows": 3, "cols": 80})}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        adding = self.instance.pk is None
        if "key" in self.fields:
            self.fields["key"].required = False
            self.fields["key"].help_text = "Lowercase letters, digits, '-' and '_'. Derived from the name if blank."
        if "language" in self.fields:
            self.fields["language"].required = False
            self.fields["language"].help_text = "e.g. en, de, de-AT. The workspace's default language if blank."
        if adding:
            self.fields["publish_now"].help_text = "Create the template published (served). Untick to create a draft."
        else:
            latest = self.latest_version()
            if latest is not None:
                self.initial.setdefault("body", latest.body)
                self.initial.setdefault("variables", ", ".join(latest.variables))
                self.initial.setdefault("variable_schema", latest.variable_schema)
                self.initial.setdefault("model_config", latest.model_config)
            self.initial.setdefault("tag_names", ", ".join(self.instance.tags.values_list("name", flat=True)))
        if not self.can_publish:
            publish = self.fields["publish_now"]
            publish.initial = False
            publish.disabled = True
            publish.help_text = (
                "You cannot publish: the new version is saved as a candidate and a publisher serves it."
                if not adding
                else "You cannot publish: the template is created as a draft."
            )

    def latest_version(self) -> TemplateVersion | None:
        if self.instance.pk is None:
            return None
        return self.instance.versions.filter(number=self.instance.latest_version_number).first()

    # --- fields ----------------------------------------------------------------------------------
    def clean_body(self) -> str:
        body = normalize_newlines(self.cleaned_data["body"])
        latest = self.latest_version()
        if latest is not None and normalize_newlines(latest.body) == body:
            return latest.body  # only the browser's line endings differ: not a change
        return body

    def clean_variables(self) -> list[str]:
        names = split_names(self.cleaned_data.get("variables", ""))
        bad = [name for name in names if not VARIABLE_NAME.match(name)]
        if bad:
            raise ValidationError(f"Not a variable name: {', '.join(bad)}.", code="invalid")
        return names

    def clean_tag_names(self) -> list[str]:
        names = split_names(self.cleaned_data.get("tag_names", ""))
        too_long = [name for name in names if len(name) > TAG_MAX_LENGTH]
        if too_long:
            raise ValidationError(f"Tag names are at most {TAG_MAX_LENGTH} characters.", code="invalid")
        return names

    def clean_metadata(self) -> dict:
        return self.cleaned_data.get("metadata") or {}

    def clean_publish_now(self) -> bool:
        return bool(self.cleaned_data.get("publish_now")) and self.can_publish

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.service_error is not None:
            self.add_service_error(self.service_error)
        return cleaned

    def add_service_error(self, error: Exception) -> None:
        """Show an error raised by a service (ApiError) or the engine (RenderError) on the right field."""
        from promptconfig_client.engine import RenderError

        if isinstance(error, RenderError):
            details = getattr(error, "details", None) or {}
            field = "variable_schema" if "schema" in details or "variable_schema" in details else "body"
            self.add_error(field if field in self.fields else None, error.message)
            return
        message = getattr(error, "message", str(error))
        details = getattr(error, "details", None) or {}
        placed = False
        for name, problems in details.items():
            field = {"template": "body", "tags": "tag_names"}.get(name, name)
            if field in self.fields and not self.fields[field].disabled:
                problems = problems if isinstance(problems, list) else [problems]
                self.add_error(field, [message, *(str(problem) for problem in problems if str(problem) != message)])
                placed = True
                break
        if not placed:
            self.add_error(None, message)


class PreviewForm(forms.Form):
    version = forms.TypedChoiceField(label="Version", coerce=int)
    profile = forms.ChoiceField(
        label="Preview as user",
        required=False,
        help_text="A profile's variables (as a generate call gets them), under the JSON ones.",
    )
    variables = PrettyJSONField(
        label="Variables (JSON)", rows=10, help_text='A JSON object, e.g. {"topic": "volcanoes"}.'
    )

    def __init__(
        self,
        *args: Any,
        versions: list[TemplateVersion],
        served_number: int | None,
        users: list[str] = (),
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.fields["version"].choices = [(v.number, version_label(v, served_number)) for v in versions]
        self.fields["profile"].choices = [("", "— no profile —"), *((user, user) for user in users)]
        self.fields["variables"].widget.attrs["class"] += " pc-variables"

    def clean_variables(self) -> dict:
        return self.cleaned_data.get("variables") or {}


class LabelForm(forms.Form):
    """Point a label other than `production` (which is a publish) and `latest` (implicit) at a version."""

    name = forms.SlugField(label="Label", max_length=64, help_text="e.g. staging, canary, review")
    number = forms.TypedChoiceField(label="Version", coerce=int)

    def __init__(self, *args: Any, versions: list[TemplateVersion], served_number: int | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["number"].choices = [(v.number, version_label(v, served_number)) for v in versions]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].lower()
        if name in ("production", "latest"):
            raise ValidationError(f"'{name}' is not set here: publish a version to move production.")
        return name


class CompareForm(forms.Form):
    """Two versions to compare, as the GET parameters `from` and `to`."""

    def __init__(self, *args: Any, versions: list[TemplateVersion], served_number: int | None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        choices = [(v.number, version_label(v, served_number)) for v in versions]
        self.fields["from"] = forms.TypedChoiceField(label="From", coerce=int, choices=choices)
        self.fields["to"] = forms.TypedChoiceField(label="To", coerce=int, choices=choices)


def version_label(version: TemplateVersion, served_number: int | None) -> str:
    label = f"v{version.number}"
    if version.number == served_number:
        label += " (production)"
    if version.change_note:
        note = version.change_note if len(version.change_note) <= 40 else version.change_note[:39] + "…"
        label += f" — {note}"
    return label
