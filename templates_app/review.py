"""Reading versions side by side: compare, content drift, and a static review of a body."""

import difflib
import re
from collections import Counter
from dataclasses import asdict, dataclass
from typing import Any

from promptconfig.common.variables import PROFILE_VARIABLES
from templates_app.models import TemplateVersion

LIST_VARIABLES = {"preferred_subjects"}
LONG_BODY_CHARS = 8000
OUTPUT_FORMAT_HINT = re.compile(
    r"\b(format|json|markdown|bullet|list|table|respond|answer|output|return|structure|sections?|headings?|"
    r"words|sentences|paragraphs?|steps)\b",
    re.IGNORECASE,
)
SINGLE_BRACE = re.compile(r"(?<![{$])\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}(?!\})")
PRINTED_VARIABLE = re.compile(r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)\s*-?\}\}")
LONE_BLOCK_TAG = re.compile(r"^\s*\{%[^-].*[^-]%\}\s*$")


def _flat_changes(before: dict | None, after: dict | None, prefix: str = "") -> dict[str, dict[str, Any]]:
    """{"path": {"from", "to"}} for every leaf that differs; nested dicts become dotted paths."""
    before, after = before or {}, after or {}
    changes: dict[str, dict[str, Any]] = {}
    for name in sorted(set(before) | set(after)):
        old, new = before.get(name), after.get(name)
        if isinstance(old, dict) and isinstance(new, dict):
            changes.update(_flat_changes(old, new, f"{prefix}{name}."))
        elif old != new:
            changes[f"{prefix}{name}"] = {"from": old, "to": new}
    return changes


def similarity(a: str, b: str) -> float:
    return round(difflib.SequenceMatcher(None, a, b).ratio(), 4)


def unified_diff(older: TemplateVersion, newer: TemplateVersion) -> str:
    """A unified diff with every line on its own line, whether or not the bodies end with a newline."""
    lines = difflib.unified_diff(
        older.body.splitlines(),
        newer.body.splitlines(),
        fromfile=f"v{older.number}",
        tofile=f"v{newer.number}",
        lineterm="",
    )
    return "".join(f"{line}\n" for line in lines)


def version_compare(older: TemplateVersion, newer: TemplateVersion) -> dict[str, Any]:
    before, after = set(older.all_variables), set(newer.all_variables)
    return {
        "from": older.number,
        "to": newer.number,
        "content_diff": unified_diff(older, newer),
        "similarity": similarity(older.body, newer.body),
        "variables_added": sorted(after - before),
        "variables_removed": sorted(before - after),
        "metadata_changes": _flat_changes(older.metadata, newer.metadata),
        "model_config_changes": _flat_changes(older.model_config, newer.model_config),
    }


def content_drift(baseline: TemplateVersion, current: TemplateVersion) -> dict[str, Any]:
    compared = version_compare(baseline, current)
    return {
        "baseline_version": baseline.number,
        "current_version": current.number,
        "drifted": bool(baseline.body != current.body or compared["variables_added"] or compared["variables_removed"]),
        "similarity": compared["similarity"],
        "variables_added": compared["variables_added"],
        "variables_removed": compared["variables_removed"],
        "content_diff": compared["content_diff"],
    }


@dataclass(frozen=True)
class Suggestion:
    code: str
    severity: str  # "error" | "warning" | "info"
    message: str


def save_warnings(version: TemplateVersion) -> list[dict[str, str]]:
    """What saving this version warns about at once: `{name}` written with single braces (literal text in
    Jinja2) where `name` is a variable the template uses or declares or a profile provides."""
    known = set(version.used_variables) | set(version.variables) | PROFILE_VARIABLES
    return [
        {"code": "single_brace_placeholder", "message": _single_brace_message(name)}
        for name in sorted(set(SINGLE_BRACE.findall(version.body)) & known)
    ]


def _single_brace_message(name: str) -> str:
    return f"'{{{name}}}' is literal text in Jinja2; write '{{{{ {name} }}}}' to insert the variable."


def suggestions_for(version: TemplateVersion) -> list[dict[str, str]]:
    """A static review of one version's body; the order is most severe first."""
    body, used, declared = version.body, set(version.used_variables), set(version.variables)
    found: list[Suggestion] = []
    if not body.strip():
        found.append(Suggestion("empty_body", "error", "The body is empty: the prompt would say nothing."))
    elif len(body) > LONG_BODY_CHARS:
        found.append(
            Suggestion(
                "very_long_body",
                "warning",
                f"The body is {len(body)} characters (about {len(body) // 4} tokens): consider splitting it or "
                "moving shared parts into included templates.",
            )
        )
    if declared:
        for name in sorted(used - declared):
            found.append(Suggestion("undeclared_variable", "warning", f"'{name}' is used but not declared."))
        for name in sorted(declared - used):
            found.append(Suggestion("unused_variable", "warning", f"'{name}' is declared but the body never uses it."))
    for name in sorted(used - PROFILE_VARIABLES):
        found.append(
            Suggestion(
                "variable_not_from_profile",
                "info",
                f"No profile supplies '{name}': every caller must pass it in context or custom_variables.",
            )
        )
    for name in sorted(set(SINGLE_BRACE.findall(body))):
        found.append(Suggestion("single_brace_placeholder", "warning", _single_brace_message(name)))
    for name in sorted(set(PRINTED_VARIABLE.findall(body)) & LIST_VARIABLES):
        found.append(
            Suggestion(
                "list_printed_raw",
                "warning",
                f"'{{{{ {name} }}}}' prints a Python list like ['a', 'b']; use '{{{{ {name}|join(', ') }}}}'.",
            )
        )
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    for line, count in Counter(lines).items():
        if count > 1 and len(line) > 20:
            found.append(Suggestion("duplicated_line", "warning", f"This line appears {count} times: {line[:80]!r}"))
    if any(LONE_BLOCK_TAG.match(line) for line in body.splitlines()):
        found.append(
            Suggestion(
                "block_tag_blank_lines",
                "info",
                "A {% ... %} tag alone on its line leaves a blank line in the output; use {%- ... -%} to trim it.",
            )
        )
    if body.strip() and not OUTPUT_FORMAT_HINT.search(body):
        found.append(
            Suggestion(
                "missing_output_format",
                "info",
                "The prompt does not say what form the answer should take (length, structure, format).",
            )
        )
    order = {"error": 0, "warning": 1, "info": 2}
    return [asdict(item) for item in sorted(found, key=lambda item: order[item.severity])]
