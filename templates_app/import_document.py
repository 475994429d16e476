"""Prompts as code, reading a document back: parse (YAML safely, or JSON) and validate it before any plan.

Every refusal is a 400 `validation_error` whose message names the line (when the text has one) and the field,
as `templates[2].name`, and whose details map that path to the messages.
"""

import json
import math
from dataclasses import dataclass, field
from typing import Any

import yaml
from django.conf import settings
from rest_framework import serializers

from promptconfig.common.errors import PayloadTooLarge, ValidationFailed
from promptconfig.common.parsers import check_json_value
from promptconfig.common.serializers import StrictBody
from promptconfig.workspaces.models import SLUG_VALIDATOR, Workspace
from promptconfig_client.engine import TemplateError
from templates_app.exchange import FORMAT
from templates_app.models import PromptTemplate, TemplateLabel, TemplateRelationship
from templates_app.rendering import ENGINE
from templates_app.serializers import ModelConfigField, ObjectField, TemplateWriteSerializer
from templates_app.services import RESERVED_KEYS

# PyYAML's safe loader (what yaml.safe_load uses), in its libyaml build when there is one: ten times faster.
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_NODES = 200_000  # values in one document (YAML aliases count once per use)
MAX_TEMPLATES = 5_000
MAX_VERSIONS = 1_000
MAX_ERRORS_NAMED = 20


class VersionEntrySerializer(StrictBody, serializers.Serializer):
    number = serializers.IntegerField(min_value=1, max_value=MAX_VERSIONS)
    template = serializers.CharField(trim_whitespace=False, allow_blank=True)
    variables = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z_][A-Za-z0-9_]*$", max_length=100), required=False, max_length=200
    )
    variable_schema = ObjectField(required=False, allow_null=True)
    model_config = ModelConfigField(required=False, allow_null=True)
    change_note = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    labels = serializers.ListField(
        child=serializers.CharField(max_length=64, validators=[SLUG_VALIDATOR]), required=False, max_length=50
    )


class RelationshipEntrySerializer(StrictBody, serializers.Serializer):
    kind = serializers.ChoiceField(choices=TemplateRelationship.Kind.choices)
    target = serializers.CharField(max_length=100, validators=[SLUG_VALIDATOR])


class TemplateEntrySerializer(TemplateWriteSerializer):
    """One template of the document: the create body, with `versions` instead of `template` if it has them."""

    also_accepted = frozenset()

    key = serializers.CharField(max_length=100, validators=[SLUG_VALIDATOR])
    template = serializers.CharField(trim_whitespace=False, allow_blank=True, required=False)
    versions = serializers.ListField(child=serializers.DictField(), required=False, max_length=MAX_VERSIONS)
    relationships = serializers.ListField(child=serializers.DictField(), required=False, max_length=200)
    publish = None

    def validate_key(self, key: str) -> str:
        if key in RESERVED_KEYS:
            raise serializers.ValidationError(f"'{key}' is a reserved key.")
        return key

    def validate(self, attrs):
        status = attrs.pop("status", None)  # any status, archived too (a create through the API cannot be)
        attrs = super().validate(attrs)
        if status is not None:
            attrs["status"] = status
        return attrs


@dataclass
class Entry:
    """One validated template of the document."""

    index: int
    key: str
    language: str
    fields: dict[str, Any]  # the descriptive fields given (name, tags…)
    versions: list[dict[str, Any]]  # content of every version, oldest first (one in `served` documents)
    labels: dict[str, int]  # label -> version number (`production` is the served one)
    relationships: list[tuple[str, str]] = field(default_factory=list)  # (kind, target key)
    all_versions: bool = False

    @property
    def path(self) -> str:
        return f"templates[{self.index}]"

    @property
    def includes(self) -> set[str]:
        return {name for version in self.versions for name in version["includes"]}


# --- reading the text ----------------------------------------------------------------------------------------
class Lines:
    """Line numbers of the document's values, looked up by path (only when an error needs one)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._root: yaml.Node | None = None
        self._composed = False

    def of(self, *path: str | int) -> int | None:
        if not self._composed:
            self._composed = True
            try:
                self._root = yaml.compose(self.text, Loader=yaml.SafeLoader)
            except yaml.YAMLError:
                self._root = None
        node, line = self._root, None
        for step in path:
            if isinstance(node, yaml.MappingNode):
                match = next((pair for pair in node.value if getattr(pair[0], "value", None) == step), None)
                if match is None:
                    break
                line, node = match[0].start_mark.line + 1, match[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(step, int) and step < len(node.value):
                node = node.value[step]
                line = node.start_mark.line + 1
            else:
                break
        return line


def _refuse(lines: Lines, path: tuple, messages: list[str]) -> ValidationFailed:
    name = _path_text(path)
    line = lines.of(*path)
    where = f"line {line}, " if line else ""
    return ValidationFailed(f"Invalid document at {where}{name}: {messages[0]}", details={name: messages})


def _path_text(path: tuple) -> str:
    text = ""
    for step in path:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text or "document"


def read_text(raw: bytes) -> str:
    if len(raw) > settings.MAX_REQUEST_BYTES:
        raise PayloadTooLarge(f"The document exceeds {settings.MAX_REQUEST_BYTES} bytes.")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            f"The document is not UTF-8 (byte {exc.start}).", details={"document": ["Not UTF-8."]}
        ) from None


def parse(raw: bytes, *, json_only: bool = False) -> tuple[Any, Lines]:
    """The document's data (YAML through the safe loader: no tag constructs an object; JSON is YAML too)."""
    text = read_text(raw)
    lines = Lines(text)
    if json_only:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(
                f"Invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}.",
                details={"document": [f"line {exc.lineno}: {exc.msg}"]},
            ) from None
        except RecursionError:
            raise ValidationFailed("JSON is nested too deeply.", details={"document": ["Nested too deeply."]}) from None
    else:
        try:
            data = yaml.load(text, Loader=SAFE_LOADER)  # the safe loader: plain data only
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown line"
            problem = exc.problem or exc.context or "invalid YAML"
            raise ValidationFailed(
                f"Invalid YAML at {line}: {problem}.", details={"document": [f"{line}: {problem}"]}
            ) from None
        except (yaml.YAMLError, RecursionError) as exc:
            raise ValidationFailed(f"Invalid YAML: {exc}", details={"document": [str(exc)[:500]]}) from None
    _check_plain_data(data, lines)
    return data, lines


def _check_plain_data(data: Any, lines: Lines) -> None:
    """Only JSON's types (YAML may give dates, sets, bytes or non-text keys), a bounded number of values."""
    stack: list[tuple[Any, tuple]] = [(data, ())]
    seen = 0
    while stack:
        value, path = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            raise ValidationFailed(
                f"The document holds more than {MAX_NODES} values.", details={"document": ["Too many values."]}
            )
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    raise _refuse(lines, path, [f"Field names must be text, not {key!r}."])
                stack.append((item, (*path, key)))
        elif isinstance(value, list):
            stack.extend((item, (*path, index)) for index, item in enumerate(value))
        elif isinstance(value, float) and not math.isfinite(value):
            raise _refuse(lines, path, ["Not a finite number."])
        elif value is not None and not isinstance(value, (str, int, float, bool)):
            raise _refuse(lines, path, [f"Not a JSON value ({type(value).__name__}); quote it."])
    check_json_value(data, settings.MAX_JSON_DEPTH)


# --- validating ----------------------------------------------------------------------------------------------
def _serializer_errors(lines: Lines, path: tuple, errors: dict) -> ValidationFailed:
    name, messages = next(iter(sorted(errors.items())))
    if isinstance(messages, dict):  # a nested list's errors, by index
        return _serializer_errors(lines, (*path, name), messages)
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        index = next(i for i, item in enumerate(messages) if item)
        return _serializer_errors(lines, (*path, name, index), messages[index])
    step = name if name != "non_field_errors" else None
    return _refuse(lines, (*path, step) if step is not None else path, [str(message) for message in messages])


def _validated(serializer_class, data: Any, lines: Lines, path: tuple) -> dict:
    if not isinstance(data, dict):
        raise _refuse(lines, path, ["Must be an object."])
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        raise _serializer_errors(lines, path, serializer.errors)
    return dict(serializer.validated_data)


def _check_body(lines: Lines, path: tuple, body: str, variable_schema: dict | None) -> list[str]:
    """The body compiles and the schema is a JSON Schema (as a save checks them); the body's includes."""
    for field_name, check in (
        ("template", lambda: ENGINE.check_source(body)),
        ("variable_schema", lambda: ENGINE.check_schema(variable_schema)),
    ):
        try:
            check()
        except TemplateError as exc:
            raise _refuse(lines, (*path, field_name), [exc.message]) from None
    return ENGINE.includes(body)


def _entry(index: int, item: Any, lines: Lines, default_language: str) -> Entry:
    path = ("templates", index)
    data = _validated(TemplateEntrySerializer, item, lines, path)
    has_body, has_versions = "template" in data, "versions" in data
    if has_body == has_versions:
        raise _refuse(lines, path, ["Give either `template` (the served body) or `versions`, not both."])
    language = data.pop("language", None) or default_language
    relationships = [
        _validated(RelationshipEntrySerializer, relation, lines, (*path, "relationships", position))
        for position, relation in enumerate(data.pop("relationships", []))
    ]
    fields = {name: data[name] for name in ("name", *DESCRIPTIVE_IMPORTED) if name in data}
    if has_body:
        version = {
            "template": data["template"],
            "variables": sorted(set(data.get("variables", []))),
            "variable_schema": data.get("variable_schema"),
            "model_config": data.get("model_config"),
            "change_note": data.get("change_note", ""),
        }
        version["includes"] = _check_body(lines, path, version["template"], version["variable_schema"])
        return Entry(
            index,
            data["key"],
            language,
            fields,
            [version],
            {TemplateLabel.PRODUCTION: 1},
            [(relation["kind"], relation["target"]) for relation in relationships],
        )
    for name in ("variables", "variable_schema", "model_config"):
        if name in data:
            raise _refuse(lines, (*path, name), ["With `versions`, give this per version."])
    versions, labels = [], {}
    for position, raw_version in enumerate(data["versions"]):
        vpath = (*path, "versions", position)
        version = _validated(VersionEntrySerializer, raw_version, lines, vpath)
        if version["number"] != position + 1:
            raise _refuse(
                lines, (*vpath, "number"), [f"Versions are numbered 1, 2, … in order; expected {position + 1}."]
            )
        version["variables"] = sorted(set(version.get("variables", [])))
        version.setdefault("variable_schema", None)
        version.setdefault("model_config", None)
        version.setdefault("change_note", "")
        version["includes"] = _check_body(lines, vpath, version["template"], version["variable_schema"])
        for label in version.pop("labels", []):
            if label == TemplateLabel.LATEST or label in labels:
                raise _refuse(lines, (*vpath, "labels"), [f"Label '{label}' is reserved or given twice."])
            labels[label] = version["number"]
        versions.append(version)
    if not versions:
        raise _refuse(lines, (*path, "versions"), ["At least one version."])
    if TemplateLabel.PRODUCTION not in labels:
        raise _refuse(lines, (*path, "versions"), ["One version must carry the `production` label (the served one)."])
    return Entry(
        index,
        data["key"],
        language,
        fields,
        versions,
        labels,
        [(relation["kind"], relation["target"]) for relation in relationships],
        all_versions=True,
    )


DESCRIPTIVE_IMPORTED = ("category", "description", "status", "is_active", "tags", "metadata", "priority", "node_name")


def _versions_in(item: Any) -> int:
    """How many versions an entry would write (at least one; its own checks refuse a malformed entry later)."""
    versions = item.get("versions") if isinstance(item, dict) else None
    return max(1, len(versions)) if isinstance(versions, list) else 1


def validate_document(data: Any, lines: Lines, *, workspace: Workspace, max_versions: int | None = None) -> list[Entry]:
    """The document's templates, checked: shape, bodies compile, includes and relationship targets exist in the
    document or the workspace (same language). A template given twice is the plan's conflict, not an error.

    `max_versions` bounds the versions of the whole document (a template without `versions` counts one): each
    is compiled, checked and written, so an API call must stay within what a request may take."""
    if not isinstance(data, dict):
        raise _refuse(lines, (), ["The document must be an object with `format` and `templates`."])
    unknown = sorted(set(data) - {"format", "templates"})
    if unknown:
        raise _refuse(lines, (unknown[0],), ["Unknown field."])
    if data.get("format") != FORMAT:
        raise _refuse(lines, ("format",), [f"Must be '{FORMAT}'."])
    items = data.get("templates")
    if not isinstance(items, list):
        raise _refuse(lines, ("templates",), ["Must be a list of templates."])
    if len(items) > MAX_TEMPLATES:
        raise _refuse(lines, ("templates",), [f"At most {MAX_TEMPLATES} templates."])
    if max_versions is not None:
        versions = sum(_versions_in(item) for item in items)
        if versions > max_versions:
            raise PayloadTooLarge(
                f"The document holds {versions} versions; one import call takes at most {max_versions}"
                " (IMPORT_MAX_VERSIONS). Import it in parts (GET /export?templates=... exports some keys) or with"
                " `manage.py import_templates`.",
                details={"templates": [f"At most {max_versions} versions in all."]},
            )
    entries = [_entry(index, item, lines, workspace.default_language) for index, item in enumerate(items)]
    seen = {(entry.key, entry.language) for entry in entries}
    languages = {entry.language for entry in entries}
    live = set(
        PromptTemplate.objects.filter(
            workspace=workspace, language__in=languages, deleted_at__isnull=True, served_version__isnull=False
        ).values_list("key", "language")
    )
    known = live | set(seen)
    for entry in entries:
        for position, version in enumerate(entry.versions):
            for name in version["includes"]:
                if (name, entry.language) not in known:
                    vpath = (
                        ("templates", entry.index, "template")
                        if not entry.all_versions
                        else ("templates", entry.index, "versions", position, "template")
                    )
                    raise _refuse(
                        lines,
                        vpath,
                        [
                            f"Includes '{name}', which is neither in the document nor in the workspace "
                            f"(language {entry.language})."
                        ],
                    )
        for position, (_, target) in enumerate(entry.relationships):
            if (target, entry.language) not in known:
                raise _refuse(
                    lines,
                    ("templates", entry.index, "relationships", position, "target"),
                    [f"No template '{target}' ({entry.language}) in the document or the workspace."],
                )
            if target == entry.key:
                raise _refuse(
                    lines,
                    ("templates", entry.index, "relationships", position, "target"),
                    ["A template cannot relate to itself."],
                )
    return entries
