"""Serializer bases shared by the apps."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import ProhibitNullCharactersValidator
from rest_framework import fields, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.validators import ProhibitSurrogateCharactersValidator

_SLOW = object()
MAX_UNKNOWN_NAMED = 20


class StrictBody:
    """A request body serializer that refuses unknown fields (400 naming each): a typo such as `contxt` must not
    pass silently and surface later as a missing variable. `also_accepted` names fields a client may send back
    unchanged from the resource's representation (read-only there): they are ignored."""

    also_accepted: frozenset[str] = frozenset()

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(str(name) for name in data if name not in self.fields and name not in self.also_accepted)
            if unknown:
                raise ValidationError({name: ["Unknown field."] for name in unknown[:MAX_UNKNOWN_NAMED]})
            if wrong := _wrong_json_types(self.fields, data):
                raise ValidationError({name: [wrong[name]] for name in sorted(wrong)[:MAX_UNKNOWN_NAMED]})
        return super().to_internal_value(data)


def _unencodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _wrong_json_types(declared, data: dict) -> dict[str, str]:
    """Text fields (and lists of text) given anything but strings, booleans given anything but true/false,
    numbers (and objects of numbers) given anything but numbers: DRF would coerce `0` to `"0"` or to false, and
    `false` or `"1.5"` to a number; the API takes the JSON types its schema says."""
    wrong = {}
    for name, value in data.items():
        field = declared.get(name)
        if value is None or field is None or field.read_only:
            continue
        if isinstance(field, fields.ListField) and isinstance(value, list):
            field, values = field.child, value
        elif isinstance(field, fields.DictField) and isinstance(value, dict):
            field, values = field.child, list(value.values())
        else:
            values = [value]
        if isinstance(field, fields.CharField) and any(not isinstance(item, str) for item in values):
            wrong[str(name)] = "Not a valid string."
        elif isinstance(field, fields.BooleanField) and any(not isinstance(item, bool) for item in values):
            wrong[str(name)] = "Must be true or false."
        elif isinstance(field, fields.IntegerField | fields.FloatField) and not all(map(_is_number, values)):
            wrong[str(name)] = "Must be a number."
    return wrong


# Fields whose run_validation is exactly "empty checks, to_internal_value, run_validators".
_PLAIN_RUNS = (fields.Field.run_validation, fields.CharField.run_validation)
# DRF gives every CharField these two; the fast path checks text for them inline (a NUL, an unencodable
# surrogate: then DRF's own path runs them and answers its error).
_TEXT_CHECKS = (ProhibitNullCharactersValidator, ProhibitSurrogateCharactersValidator)


def _checks(field) -> tuple:
    """The validators of a field the fast path runs itself: all but the text checks, remembered on the field."""
    checks = field.__dict__.get("_fast_checks")
    if checks is None:
        checks = field._fast_checks = tuple(check for check in field.validators if not isinstance(check, _TEXT_CHECKS))
    return checks


class RequestSerializer(StrictBody, serializers.Serializer):
    """A flat request-body serializer for the hot runtime paths, with a fast path for valid input.

    DRF deep-copies and binds every declared field for every serializer instance and validates each
    through several layers; on a warm `generate` that was about a tenth of the request. For a JSON object
    whose values are all present-or-defaulted and non-empty, the fast path calls, per field, the same
    `to_internal_value`, the same validators and `validate_<field>`, then the serializer's `validate`,
    on the declared fields themselves (no copies). Anything unusual (a non-object body, a missing
    required field, a null or blank value, a field with its own `run_validation` or `source`, any error)
    goes through DRF unchanged, which produces the API contract's error details.
    """

    def run_validation(self, data=fields.empty):
        value = self._fast(data)
        return super().run_validation(data) if value is _SLOW else value

    @classmethod
    def fast_validated(cls, data) -> dict | None:
        """The validated data of a plain valid body without building a serializer for it (about 20 µs
        less per request), else None: then validate as usual for DRF's errors. Runs `_fast` on one
        shared, data-less instance of the class, so `validate` and `validate_<field>` must not keep state
        on the serializer (they only ever look at their arguments here)."""
        prototype = cls.__dict__.get("_prototype")
        if prototype is None:
            prototype = cls._prototype = cls()
        value = prototype._fast(data)
        return None if value is _SLOW else value

    def _fast(self, data):
        if type(data) is not dict or self.validators or not data.keys() <= self._declared_fields.keys():
            return _SLOW
        result = {}
        try:
            for name, field in self._declared_fields.items():
                if type(field).run_validation not in _PLAIN_RUNS or field.read_only or field.source not in (None, name):
                    return _SLOW
                value = data.get(name, fields.empty)
                if value is fields.empty:
                    if field.required:
                        return _SLOW
                    if getattr(field.default, "requires_context", False):
                        return _SLOW
                    if field.default is not fields.empty:
                        result[name] = field.default() if callable(field.default) else field.default
                    continue
                if (
                    value is None
                    or (isinstance(field, fields.CharField) and (type(value) is not str or value.strip() == ""))
                    or (isinstance(field, fields.BooleanField) and type(value) is not bool)
                    or (isinstance(field, fields.IntegerField | fields.FloatField) and not _is_number(value))
                ):
                    return _SLOW
                value = field.to_internal_value(value)
                if isinstance(value, str) and ("\x00" in value or (not value.isascii() and _unencodable(value))):
                    return _SLOW
                for check in _checks(field):  # DRF's run_validators less its error collection (errors go slow)
                    if getattr(check, "requires_context", False):
                        check(value, field)
                    else:
                        check(value)
                if validate_field := getattr(self, f"validate_{name}", None):
                    value = validate_field(value)
                result[name] = value
            return self.validate(result)
        except (ValidationError, DjangoValidationError):
            return _SLOW
