"""A JSON parser that refuses what would break later: deep nesting, NUL bytes, lone surrogates."""

import json
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

from promptconfig.common.errors import PayloadTooLarge, ValidationFailed


def check_json_value(data: Any, max_depth: int) -> None:
    """Walk a parsed document once, iteratively; raise ValidationFailed on the first bad part.

    PostgreSQL cannot store NUL in text or jsonb, and a lone surrogate cannot be encoded as UTF-8:
    both would fail deep inside a write, so they are refused at the door.
    """
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, (dict, list)):
            if depth > max_depth:
                raise ValidationFailed(
                    f"JSON is nested deeper than {max_depth} levels.", details={"body": ["Nested too deeply."]}
                )
            if isinstance(value, dict):
                for key, item in value.items():
                    _check_text(key)
                    stack.append((item, depth + 1))
            else:
                stack.extend((item, depth + 1) for item in value)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise ValidationFailed("Text may not contain NUL characters.", details={"body": ["NUL character."]})
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationFailed(
            "Text may not contain unpaired surrogates.", details={"body": ["Invalid Unicode."]}
        ) from None


class SafeJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            raw = stream.read() if stream is not None else b""
        except RequestDataTooBig:
            raise PayloadTooLarge() from None
        if not raw:
            return {}
        try:
            data = json.loads(raw.decode("utf-8"))
        except RecursionError:
            raise ValidationFailed("JSON is nested too deeply.", details={"body": ["Nested too deeply."]}) from None
        except (ValueError, UnicodeDecodeError) as exc:
            raise ParseError(f"Malformed JSON: {exc}") from None
        check_json_value(data, settings.MAX_JSON_DEPTH)
        return data
