"""Every failure under /api/ leaves in the contract's error shape, and nothing half-written stays."""

import io
import json

import pytest
from django.test import override_settings

from promptconfig.workspaces.models import ApiKey

KEYS = "/api/v1/api-keys"


def error_of(response) -> dict:
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def post_raw(client, body: bytes | str, content_type: str = "application/json"):
    return client.generic("POST", KEYS, body, content_type=content_type)


def test_unknown_api_path_is_a_json_404(api_client):
    response = api_client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_unknown_api_path_is_a_json_404_for_every_method(db, method):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).generic(method, "/api/v1/no-such-thing", "{}", "application/json")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_unknown_object_is_a_json_404(api_client):
    response = api_client.get(f"{KEYS}/999999")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_wrong_method_is_a_json_405(api_client):
    response = api_client.put(KEYS, {}, format="json")
    assert response.status_code == 405
    assert error_of(response)["code"] == "method_not_allowed"


def test_validation_errors_name_each_field(api_client):
    response = api_client.post(KEYS, {"scope": "root"}, format="json")
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert set(error["details"]) == {"name", "scope"}
    assert all(isinstance(messages, list) for messages in error["details"].values())


def test_malformed_json_is_a_400(api_client):
    response = post_raw(api_client, '{"name": "x", "scope": "re')
    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_error"


def test_non_json_content_type_is_refused(api_client):
    response = post_raw(api_client, "name=x", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


@pytest.mark.parametrize("depth", [33, 100, 5000, 100_000])
def test_json_nested_deeper_than_the_limit_is_a_400_not_a_recursion_error(api_client, depth):
    response = post_raw(api_client, "[" * depth + "]" * depth)
    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_error"


def test_json_nested_within_the_limit_is_parsed(api_client):
    nested = {"a": [[[[{"b": 1}]]]]}
    response = api_client.post("/api/v1/profiles", {"user_id": "deep-ok", "attributes": nested}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["attributes"] == nested


@pytest.mark.parametrize(
    "raw_name",
    [r"nul\u0000inside", r"lone \ud800 surrogate", r"low \udfff alone"],
)
def test_nul_bytes_and_lone_surrogates_never_reach_the_database(api_client, raw_name):
    before = ApiKey.objects.count()
    response = post_raw(api_client, '{"name": "' + raw_name + '", "scope": "read"}')
    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_error"
    assert ApiKey.objects.count() == before


def test_nul_in_an_object_key_is_refused(api_client):
    response = post_raw(api_client, json.dumps({"name": "x", "scope": "read", "k\u0000": 1}))
    assert response.status_code == 400


def test_nul_in_the_query_string_is_refused(api_client):
    response = api_client.get(f"{KEYS}?search=%00")
    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_error"


def test_a_surrogate_pair_is_fine(api_client):
    response = api_client.post(KEYS, {"name": "emoji 😀", "scope": "read"}, format="json")
    assert response.status_code == 201
    assert ApiKey.objects.get(pk=response.json()["id"]).name == "emoji 😀"


def test_a_body_over_the_limit_is_a_413(api_client):
    body = json.dumps({"name": "x" * (1024 * 1024), "scope": "read"})
    response = post_raw(api_client, body)
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


@override_settings(MAX_REQUEST_BYTES=100, DATA_UPLOAD_MAX_MEMORY_SIZE=100)
def test_the_body_limit_is_a_setting(api_client):
    assert post_raw(api_client, json.dumps({"name": "x" * 50, "scope": "read"})).status_code == 201
    response = post_raw(api_client, json.dumps({"name": "x" * 200, "scope": "read"}))
    assert response.status_code == 413


def post_chunked(client, body: bytes, *, terminated: bool = True):
    """A POST as a WSGI server hands over a chunked body: no Content-Length, the decoded bytes as the input
    stream, and `wsgi.input_terminated` when the server ends that stream at the last chunk (gunicorn does)."""
    environ = {"CONTENT_LENGTH": "", "HTTP_TRANSFER_ENCODING": "chunked", "wsgi.input": io.BytesIO(body)}
    environ["wsgi.input_terminated"] = terminated
    return client.generic("POST", KEYS, b"", content_type="application/json", **environ)


def test_a_chunked_body_is_read_not_dropped(api_client):
    response = post_chunked(api_client, json.dumps({"name": "chunked", "scope": "write"}).encode())
    assert response.status_code == 201, response.content
    assert ApiKey.objects.get(pk=response.json()["id"]).name == "chunked"


@override_settings(MAX_REQUEST_BYTES=100, DATA_UPLOAD_MAX_MEMORY_SIZE=100)
def test_a_chunked_body_over_the_limit_is_a_413(api_client):
    response = post_chunked(api_client, json.dumps({"name": "x" * 200, "scope": "read"}).encode())
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"
    assert not ApiKey.objects.filter(name="x" * 200).exists()


def test_a_chunked_body_the_server_cannot_end_is_a_400(api_client):
    response = post_chunked(api_client, json.dumps({"name": "chunked", "scope": "read"}).encode(), terminated=False)
    assert response.status_code == 400
    assert "Content-Length" in error_of(response)["message"]
    assert not ApiKey.objects.filter(name="chunked").exists()


@override_settings(ROOT_URLCONF="tests.common.urls")
@pytest.mark.parametrize("path", ["/api/v1/test/drf-boom", "/api/v1/test/django-boom"])
def test_an_unexpected_error_is_a_json_500_without_internals(client, db, path):
    client.raise_request_exception = False
    response = client.get(path)
    assert response.status_code == 500
    error = error_of(response)
    assert error["code"] == "server_error"
    assert b"internal detail" not in response.content
    assert b"Traceback" not in response.content


@override_settings(ROOT_URLCONF="tests.common.urls", DEBUG=True)
def test_debug_mode_still_answers_json_under_api(client, db):
    client.raise_request_exception = False
    assert error_of(client.get("/api/v1/nowhere"))["code"] == "not_found"
    assert error_of(client.get("/api/v1/test/django-boom"))["code"] == "server_error"


def test_pages_outside_the_api_keep_html_errors(client, db):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_pagination_shape_and_page_size_cap(api_client, workspace):
    from promptconfig.workspaces.services import api_key_create

    for index in range(204):
        api_key_create(workspace=workspace, name=f"k{index}", scope="read")
    first = api_client.get(f"{KEYS}?page_size=2").json()
    assert set(first) == {"count", "next", "previous", "results"}
    assert first["count"] == 205 and len(first["results"]) == 2 and first["previous"] is None
    assert "page=2" in first["next"]
    assert len(api_client.get(f"{KEYS}?page_size=1000").json()["results"]) == 200


def test_every_response_carries_a_request_id(api_client):
    assert len(api_client.get(KEYS)["X-Request-ID"]) == 32
    assert api_client.get(KEYS, HTTP_X_REQUEST_ID="abc-123")["X-Request-ID"] == "abc-123"
    assert api_client.get(KEYS, HTTP_X_REQUEST_ID="bad id <script>")["X-Request-ID"] != "bad id <script>"


@pytest.mark.parametrize("accept", ["application/xml", "text/html"])
def test_an_accept_header_the_api_cannot_satisfy_is_a_json_406(api_client, accept):
    response = api_client.get("/api/v1/templates", HTTP_ACCEPT=accept)
    assert response.status_code == 406 and response.json()["error"]["code"] == "not_acceptable"


@pytest.mark.parametrize("accept", [None, "*/*", "application/json", "application/json, text/plain;q=0.5"])
def test_json_or_anything_is_served_json(api_client, accept):
    response = api_client.get("/api/v1/templates", **({"HTTP_ACCEPT": accept} if accept else {}))
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
