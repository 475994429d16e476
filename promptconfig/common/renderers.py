"""The API's JSON renderer: DRF's `JSONRenderer` output, written by orjson.

Rendering an answer with the standard library's encoder cost a warm prompt-data call about a tenth of its CPU
instructions; orjson writes the same document in a fraction of that (tests/perf/README.md). The output is
DRF's: compact, UTF-8, U+2028 and U+2029 escaped. What orjson would write differently goes through DRF's
encoder (datetimes, with their `Z` for UTC; dataclasses; decimals; lazy text...), and a document orjson cannot
write at all (an integer beyond 64 bits, a key that is not text, nesting deeper than 254 levels) is rendered by
DRF itself, as is an indented answer (`Accept: application/json; indent=2`). One difference: a float that is
not a number (NaN, infinity) is written as null, where DRF's renderer fails the request.
"""

import orjson
from rest_framework import renderers

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_LINE_SEPARATORS = ((b"\xe2\x80\xa8", b"\\u2028"), (b"\xe2\x80\xa9", b"\\u2029"))  # as DRF escapes them


class JSONRenderer(renderers.JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if (
            data is None
            or self.ensure_ascii
            or not self.compact
            or self.get_indent(accepted_media_type, renderer_context or {}) is not None
        ):
            return super().render(data, accepted_media_type, renderer_context)
        try:
            content = orjson.dumps(data, default=self.encoder_class().default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return super().render(data, accepted_media_type, renderer_context)
        if b"\xe2\x80" in content:
            for raw, escaped in _LINE_SEPARATORS:
                content = content.replace(raw, escaped)
        return content
