"""RequestSerializer's fast path must give exactly what DRF gives, and leave every error to DRF."""

import pytest
from rest_framework import serializers

from generation.serializers import GenerateRequestSerializer, PromptDataRequestSerializer
from promptconfig.common.serializers import _SLOW, RequestSerializer


class Mixed(RequestSerializer):
    name = serializers.CharField(max_length=5)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    raw = serializers.CharField(required=False, trim_whitespace=False)
    count = serializers.IntegerField(required=False, min_value=1)
    data = serializers.JSONField(required=False)
    flag = serializers.BooleanField(required=False)
    code = serializers.RegexField(r"^[a-z]+$", required=False)

    def validate_code(self, value):
        if value == "forbidden":
            raise serializers.ValidationError("Not this one.")
        return value.upper()

    def validate(self, attrs):
        if attrs.get("count") == 13:
            raise serializers.ValidationError({"count": ["Unlucky."]})
        return attrs


class Drf(Mixed):
    """The same serializer through DRF only."""

    def _fast(self, data):
        return _SLOW


BODIES = [
    {"name": "ab"},
    {"name": "abcdef"},  # too long
    {"name": " ab "},  # trimmed by DRF
    {"name": ""},
    {"name": "   "},
    {"name": None},
    {"name": 12},  # DRF turns numbers into strings
    {"name": True},
    {"name": "a\x00b"},
    {"name": "a\ud800"},  # a lone surrogate
    {"name": "é"},
    {},
    {"note": "x"},
    {"name": "ab", "note": ""},
    {"name": "ab", "note": "  "},
    {"name": "ab", "raw": "  padded  "},
    {"name": "ab", "count": 3},
    {"name": "ab", "count": "3"},
    {"name": "ab", "count": 0},
    {"name": "ab", "count": 13},
    {"name": "ab", "count": True},
    {"name": "ab", "count": 2.0},
    {"name": "ab", "count": 2.5},
    {"name": "ab", "data": {"a": [1, 2]}},
    {"name": "ab", "data": [1]},
    {"name": "ab", "flag": "true"},
    {"name": "ab", "flag": False},
    {"name": "ab", "code": "abc"},
    {"name": "ab", "code": "ABC"},
    {"name": "ab", "code": "forbidden"},
    {"name": "ab", "unknown": 1},
    [],
    "text",
]


def outcome(serializer_class, body):
    serializer = serializer_class(data=body)
    return (True, serializer.validated_data) if serializer.is_valid() else (False, serializer.errors)


@pytest.mark.parametrize("body", BODIES, ids=[repr(body) for body in BODIES])
def test_same_result_and_errors_as_drf(body):
    assert outcome(Mixed, body) == outcome(Drf, body)


@pytest.mark.parametrize(
    ("serializer_class", "body", "fast"),
    [
        (GenerateRequestSerializer, {"user_id": "u1", "template_id": "lesson", "context": {"topic": "x"}}, True),
        (GenerateRequestSerializer, {"node_name": "n", "version": 2, "language": "de-AT"}, True),
        (GenerateRequestSerializer, {"user_id": "u1"}, False),  # neither template_id nor node_name
        (GenerateRequestSerializer, {"template_id": "Bad Key"}, False),
        (GenerateRequestSerializer, {"template_id": "a", "version": 1, "label": "x"}, False),
        (PromptDataRequestSerializer, {"user_id": "u1", "node_name": "n"}, True),
        (PromptDataRequestSerializer, {"user_id": "u1", "language": "!!"}, False),
    ],
)
def test_runtime_serializers_take_the_fast_path_only_for_valid_bodies(serializer_class, body, fast):
    taken = serializer_class(data=body)._fast(body)
    assert (taken is not _SLOW) is fast
    drf = super(RequestSerializer, serializer_class(data=body)).run_validation  # DRF's own validation
    if fast:
        assert taken == drf(body)
    else:
        with pytest.raises(serializers.ValidationError):
            drf(body)


@pytest.mark.parametrize("body", BODIES, ids=[repr(body) for body in BODIES])
def test_the_class_level_fast_path_agrees_with_drf_or_steps_aside(body):
    valid, drf = outcome(Drf, body)
    fast = Mixed.fast_validated(body)
    assert fast is None or (valid and fast == drf)


@pytest.mark.parametrize(
    "body", [{"name": "ab"}, {"name": "ab", "count": 3, "data": {"a": 1}}, {"name": "ab", "code": "abc"}]
)
def test_plain_valid_bodies_take_the_class_level_fast_path(body):
    assert Mixed.fast_validated(body) == outcome(Drf, body)[1]
