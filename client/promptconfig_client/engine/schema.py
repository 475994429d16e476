"""Variable validation: JSON data only, and (when the template has one) its JSON Schema, draft 2020-12.

jsonschema is imported at the first schema (it takes about 100 ms to import): a client that renders
templates without schemas never pays for it.
"""

from __future__ import annotations

import json
import threading
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
    except SchemaError as exc:
        where = "/".join(str(part) for part in exc.absolute_path)
        at = f" at {where}" if where else ""
        raise _schema_error(f"The variable schema is invalid{at}: {_clip(exc.message)}") from None
    except RecursionError:
        raise _schema_error("The variable schema is nested too deeply.") from None
    return Draft202012Validator(schema)


def _schema_error(message: str) -> TemplateError:
    return TemplateError(message, {"schema": [message]})


def check_schema(validators: SchemaValidators, schema: dict | None) -> None:
    if schema is not None:
        validators.get(schema)


def validate(validators: SchemaValidators, variables: Mapping[str, Any], schema: dict | None) -> None:
    """Raise InvalidVariables with messages per top-level variable ("$" for the whole object)."""
    if schema is None:
        return
    from jsonschema.exceptions import SchemaError, ValidationError

    validator = validators.get(schema)
    instance = variables if isinstance(variables, dict) else dict(variables)
    details: dict[str, list[str]] = {}
    try:
        for count, error in enumerate(validator.iter_errors(instance)):
            if count >= _MAX_ERRORS:
                break
            for key in _keys_of(error, instance):
                details.setdefault(key, []).append(_clip(error.message))
    except RecursionError:
        raise _schema_error("The variable schema recurses too deeply to apply.") from None
    except (ValidationError, SchemaError):
        raise
    except Exception as exc:  # an unresolvable $ref, a bad regex: the schema's fault, not the variables'
        raise _schema_error(f"The variable schema cannot be applied: {_clip(str(exc))}") from None
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
