"""Variable validation: JSON data only, and (when the template has one) its JSON Schema, draft 2020-12.

A schema's regular expressions (`pattern`, `patternProperties`, and the property matching of
`additionalProperties`) run on RE2, a linear-time engine: no pattern written by an author, however
catastrophic for a backtracking engine (`^(a+)+$`), can stall a render. A pattern RE2 cannot compile
(backreferences, lookaround) is refused when the schema is checked, naming where it is; so is
`unevaluatedProperties` beside `patternProperties` (jsonschema would match those with Python's `re`).
Validation counts against the render's deadline.

jsonschema is imported at the first schema (it takes about 100 ms to import): a client that renders
templates without schemas never pays for it.
"""

from __future__ import annotations

import functools
import json
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError

from .errors import InvalidVariables, TemplateError

WHOLE = "$"  # the details key for errors about the variables object as a whole
_MAX_ERRORS = 50
_MAX_MESSAGE = 200
_VALIDATOR_CACHE_SIZE = 256

_SCALARS = frozenset({str, int, float, bool, type(None)})


def check_data(variables: Mapping[str, Any]) -> None:
    """Raise InvalidVariables unless `variables` is JSON-like data: the only thing a template may ever touch."""
    if type(variables) is dict:
        # Hot path (every render): string names and scalar values need one type lookup each.
        for name, value in variables.items():
            if type(value) not in _SCALARS or type(name) is not str:
                break
        else:
            return
    if not isinstance(variables, Mapping):
        raise InvalidVariables({WHOLE: ["Variables must be an object."]}, "Variables must be an object.")
    problems: dict[str, list[str]] = {}
    for name, value in variables.items():
        if not isinstance(name, str):
            problems[WHOLE] = ["Variable names must be strings."]
        elif type(value) not in _SCALARS and not _is_data(value):
            problems[name] = ["Must be JSON data: a string, number, boolean, null, list or object."]
    if problems:
        raise InvalidVariables(problems, "Variables must be JSON data.")


def _is_data(value: Any) -> bool:
    # Iterative: variables may be deeply nested, and this must not hit the recursion limit.
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind in _SCALARS:
            continue
        if kind is list or kind is tuple:
            stack.extend(item)
        elif kind is dict:
            for key, inner in item.items():
                if type(key) is not str:
                    return False
                stack.append(inner)
        else:
            return False
    return True


class SchemaValidators:
    """Compiled validators by schema (keyed by its canonical JSON), so a render does not re-check the schema."""

    def __init__(self, size: int = _VALIDATOR_CACHE_SIZE) -> None:
        self._size = size
        self._cache: OrderedDict[str, Draft202012Validator] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, schema: Any) -> Draft202012Validator:
        key = _canonical(schema)
        with self._lock:
            validator = self._cache.get(key)
            if validator is not None:
                self._cache.move_to_end(key)
                return validator
        validator = _compile(schema)
        with self._lock:
            self._cache[key] = validator
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return validator


def _canonical(schema: Any) -> str:
    if not isinstance(schema, dict | bool):
        raise _schema_error("The variable schema must be a JSON object.")
    try:
        return json.dumps(schema, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError, RecursionError):
        raise _schema_error("The variable schema must be JSON data.") from None


def _compile(schema: Any) -> Draft202012Validator:
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
        _check_patterns(schema)
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path)
        at = f" at {where}" if where else ""
        raise _schema_error(f"The variable schema is invalid{at}: {_clip(exc.message)}") from None
    except RecursionError:
        raise _schema_error("The variable schema is nested too deeply.") from None
    return _validator_class()(schema)


# -- regular expressions on RE2 -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def _regex(pattern: str):
    """The RE2 compilation of a schema pattern (re2.error if RE2 cannot compile it)."""
    import re2

    options = re2.Options()
    options.log_errors = False  # a refused pattern is our error to report, not a line on stderr
    return re2.compile(pattern, options)


def _search(pattern: str, text: str) -> bool:
    return _regex(pattern).search(text) is not None


def _check_patterns(schema: Any, path: tuple = ()) -> None:
    """Refuse (TemplateError naming the place) any pattern RE2 cannot compile, and unevaluatedProperties beside
    patternProperties, anywhere in the schema. Iterative over the schema's nesting."""
    import re2

    stack = [(schema, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, list):
            stack.extend((item, (*where, index)) for index, item in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        for keyword in ("$ref", "$dynamicRef"):
            target = node.get(keyword)
            if isinstance(target, str) and not target.startswith("#"):
                raise _schema_error(
                    f"The variable schema's {keyword} at {_path(where) or 'its root'} points outside the schema"
                    f" ({_clip(repr(target))}): only references within it (#/...) are resolved."
                )
        patterns = []
        if isinstance(node.get("pattern"), str):
            patterns.append((node["pattern"], (*where, "pattern")))
        if isinstance(node.get("patternProperties"), dict):
            patterns += [(key, (*where, "patternProperties", key)) for key in node["patternProperties"]]
            if "unevaluatedProperties" in node:
                raise _schema_error(
                    f"The variable schema at {_path(where) or 'its root'} combines patternProperties with "
                    "unevaluatedProperties, which is not supported: use additionalProperties."
                )
        for pattern, place in patterns:
            try:
                _regex(pattern)
            except re2.error as exc:
                reason = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
                raise _schema_error(
                    f"The variable schema's pattern at {_path(place)} cannot be used: {_clip(reason)} "
                    "(patterns run on RE2: no backreferences or lookaround)."
                ) from None
        stack.extend((value, (*where, key)) for key, value in node.items())


def _path(parts: tuple) -> str:
    return "/".join(str(part) for part in parts)


@functools.cache
def _validator_class():
    """Draft 2020-12 with `pattern`, `patternProperties` and `additionalProperties` matching on RE2."""
    from jsonschema import Draft202012Validator, validators
    from jsonschema.exceptions import ValidationError

    def pattern(validator, pattern, instance, schema):
        if validator.is_type(instance, "string") and not _search(pattern, instance):
            yield ValidationError(f"{_clip(repr(instance))} does not match {pattern!r}")

    def pattern_properties(validator, pattern_properties, instance, schema):
        if validator.is_type(instance, "object"):
            for pattern, subschema in pattern_properties.items():
                for key, value in instance.items():
                    if _search(pattern, key):
                        yield from validator.descend(value, subschema, path=key, schema_path=pattern)

    def additional_properties(validator, additional, instance, schema):
        if not validator.is_type(instance, "object"):
            return
        properties, patterns = schema.get("properties", {}), schema.get("patternProperties", {})
        extras = [
            key for key in instance if key not in properties and not any(_search(pattern, key) for pattern in patterns)
        ]
        if validator.is_type(additional, "object"):
            for extra in extras:
                yield from validator.descend(instance[extra], additional, path=extra)
        elif additional is False and extras:
            listed = ", ".join(repr(extra) for extra in sorted(extras, key=str)[:20])
            yield ValidationError(f"Additional properties are not allowed ({_clip(listed)} unexpected)")

    return validators.extend(
        Draft202012Validator,
        {"pattern": pattern, "patternProperties": pattern_properties, "additionalProperties": additional_properties},
    )


def _schema_error(message: str) -> TemplateError:
    return TemplateError(message, {"schema": [message]})


def check_schema(validators: SchemaValidators, schema: dict | None) -> None:
    if schema is not None:
        validators.get(schema)


def validate(
    validators: SchemaValidators, variables: Mapping[str, Any], schema: dict | None, deadline: float | None = None
) -> None:
    """Raise InvalidVariables with messages per top-level variable ("$" for the whole object); TemplateError
    when validating runs past `deadline` (time.monotonic() seconds)."""
    if schema is None:
        return
    from jsonschema.exceptions import SchemaError, ValidationError

    validator = validators.get(schema)
    instance = variables if isinstance(variables, dict) else dict(variables)
    details: dict[str, list[str]] = {}
    try:
        for count, error in enumerate(validator.iter_errors(instance)):
            if count >= _MAX_ERRORS or (deadline is not None and time.monotonic() > deadline):
                break
            for key in _keys_of(error, instance):
                details.setdefault(key, []).append(_clip(error.message))
    except RecursionError:
        raise _schema_error("The variable schema recurses too deeply to apply.") from None
    except (ValidationError, SchemaError):
        raise
    except Exception as exc:  # an unresolvable $ref, a bad regex: the schema's fault, not the variables'
        raise _schema_error(f"The variable schema cannot be applied: {_clip(str(exc))}") from None
    if deadline is not None and time.monotonic() > deadline:
        raise TemplateError("Validating the variables against the schema took longer than the time budget.")
    if details:
        raise InvalidVariables(details)


def _keys_of(error: ValidationError, instance: dict[str, Any]) -> list[str]:
    """The top-level variables an error is about: the first step of its path, or the missing required names."""
    if error.absolute_path:
        return [str(error.absolute_path[0])]
    if error.validator == "required" and isinstance(error.validator_value, list):
        names = [name for name in error.validator_value if isinstance(name, str) and name not in instance]
        named = [name for name in names if repr(name) in error.message]
        return named or [WHOLE]
    return [WHOLE]


def _clip(message: str) -> str:
    return message if len(message) <= _MAX_MESSAGE else message[: _MAX_MESSAGE - 1] + "…"
