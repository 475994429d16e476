"""The API's JSON renderer writes with orjson what DRF's JSONRenderer writes (promptconfig/common/renderers.py)."""

import datetime
import decimal
import json
import uuid
from dataclasses import dataclass

import pytest
from django.utils.functional import lazy
from rest_framework import renderers
from rest_framework.utils.serializer_helpers import ReturnDict

from promptconfig.common.renderers import JSONRenderer

UTC = datetime.UTC
PARIS = datetime.timezone(datetime.timedelta(hours=1))


@dataclass
class Point:
    x: int


class Listish:
    def tolist(self):
        return [1, 2]


DOCUMENTS = [
    {"status": "ok", "version": 1, "items": [1, 2.5, -0.0, 1e16, 0.1, True, False, None]},
    {"text": 'é 😀 \t "q" \\ \u2028 \u2029 </script>', "empty": "", "nested": {"a": [[[{}]]]}},
    {"at": datetime.datetime(2026, 11, 28, 9, 0, 0, 123456, tzinfo=UTC)},
    {"at": datetime.datetime(2026, 11, 28, 9, 0, tzinfo=PARIS), "naive": datetime.datetime(2026, 1, 2, 3, 4, 5)},
    {"day": datetime.date(2026, 11, 28), "time": datetime.time(9, 30, 1, 5), "span": datetime.timedelta(hours=1)},
    {"id": uuid.UUID(int=7), "price": decimal.Decimal("1.10"), "lazy": lazy(lambda: "later", str)()},
    {"set": {3}, "tuple": (1, "a"), "list_like": Listish()},
    ReturnDict({"a": 1}, serializer=None),
    {"big": 2**64, "small": -(2**63)},  # beyond 64 bits: DRF renders it
    {1: "int key", None: "null key"},  # keys that are not text: DRF renders them
    [1, "two", {"three": 3}],
    "text",
    0,
]


@pytest.mark.parametrize("data", DOCUMENTS)
def test_the_output_is_drfs(data):
    assert JSONRenderer().render(data) == renderers.JSONRenderer().render(data)


def test_a_small_float_has_its_value_though_its_exponent_is_written_shorter():
    assert JSONRenderer().render([1.5e-7]) == b"[1.5e-7]"  # DRF: 1.5e-07
    assert json.loads(JSONRenderer().render([1.5e-7, 2.5e-300])) == [1.5e-7, 2.5e-300]


def test_nothing_is_rendered_as_nothing():
    assert JSONRenderer().render(None) == b""


def test_an_indented_answer_is_drfs():
    data = {"a": [1, {"b": "é"}]}
    indented = JSONRenderer().render(data, "application/json; indent=2")
    assert indented == renderers.JSONRenderer().render(data, "application/json; indent=2")
    assert b"\n" in indented


def test_what_drfs_encoder_refuses_is_refused():
    for data in ({"at": datetime.time(9, tzinfo=UTC)}, {"thing": object()}, {"point": Point(1)}):
        with pytest.raises((TypeError, ValueError)):
            renderers.JSONRenderer().render(data)
        with pytest.raises((TypeError, ValueError)):
            JSONRenderer().render(data)


def test_a_float_that_is_not_a_number_is_null():
    assert JSONRenderer().render({"p": float("nan"), "q": float("inf")}) == b'{"p":null,"q":null}'


def test_the_api_answers_through_it(api_client):
    response = api_client.get("/api/v1/templates")
    assert response.status_code == 200
    assert response.renderer_context["response"].accepted_renderer.__class__ is JSONRenderer
