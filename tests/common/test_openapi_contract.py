"""The OpenAPI document describes what the server does: statuses, errors, tags, examples; and the server refuses
what the document says it refuses."""

from datetime import UTC, datetime

import pytest

from generation.selectors import iso_utc

pytestmark = [pytest.mark.postgres]

AREAS = {
    "templates",
    "versions",
    "profiles",
    "generation",
    "A/B tests",
    "provider versions",
    "cache",
    "analytics",
    "bulk and import/export",
}


@pytest.fixture
def schema(client, db):
    return client.get("/api/schema/?format=json").json()


def operations(schema):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                yield method, path, operation


def test_every_operation_has_a_tag_summary_description_and_its_errors(schema):
    assert schema["components"]["schemas"]["Error"]["required"] == ["error"]
    tags = set()
    for method, path, operation in operations(schema):
        assert operation["summary"] and operation["description"], (method, path)
        assert "queryset" not in operation["description"] and "fast path" not in operation["description"]
        tags.update(operation["tags"])
        responses = operation["responses"]
        for code in ("400", "401", "403", "429", "503"):
            assert responses[code]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
        if "requestBody" in operation:
            assert {"413", "415"} <= responses.keys(), (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
    assert AREAS | {"API keys"} <= tags


def test_statuses_match_the_server(schema):
    paths = schema["paths"]
    assert set(paths["/api/v1/profiles/{user_id}"]["delete"]["responses"]) >= {"200"}
    assert "204" not in paths["/api/v1/profiles/{user_id}"]["delete"]["responses"]
    assert "201" in paths["/api/v1/templates/{key}/relationships"]["post"]["responses"]
    assert "201" in paths["/api/v1/templates"]["post"]["responses"]
    assert {"200", "201", "502", "504"} <= paths["/api/v1/templates/{key}/ensure-version"]["post"]["responses"].keys()
    assert "202" in paths["/api/v1/ab-tests/{id}/analyze"]["post"]["responses"]
    assert {"409", "410", "422"} <= paths["/api/v1/prompts/generate"]["post"]["responses"].keys()


def test_generate_documents_an_example_the_server_accepts(schema):
    body = schema["paths"]["/api/v1/prompts/generate"]["post"]["requestBody"]["content"]["application/json"]
    assert body["examples"]["example"]["value"] == {
        "user_id": "u42",
        "template_id": "lesson",
        "context": {"topic": "volcanoes"},
    }


def test_page_and_page_size_must_be_positive_integers(make_client, workspace):
    client = make_client(workspace, scope="read")
    for query in ("page=0", "page=", "page_size=0", "page_size=abc"):
        response = client.get(f"/api/v1/profiles?{query}")
        assert response.status_code == 400, query
        assert response.json()["error"]["code"] == "validation_error"
    assert client.get("/api/v1/profiles?page=2").status_code == 404


def test_text_fields_take_strings_only(make_client, workspace):
    client = make_client(workspace, scope="admin")
    response = client.post("/api/v1/cache/warmup", {"templates": [0]}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"templates": ["Not a valid string."]}
    response = client.post("/api/v1/prompts/generate", {"node_name": 0}, format="json")
    assert response.status_code == 400


def test_usage_buckets_are_iso_8601_before_the_year_1000():
    assert iso_utc(datetime(687, 12, 29, tzinfo=UTC)) == "0687-12-29T00:00:00Z"


def test_an_update_racing_a_delete_is_404_not_500(make_client, workspace, monkeypatch):
    """Found by schemathesis: a PATCH whose template a concurrent DELETE removed once the PATCH had committed."""
    from templates_app import services, views

    client = make_client(workspace, scope="write")
    assert (
        client.post("/api/v1/templates", {"key": "raced", "name": "R", "template": "Hi"}, format="json").status_code
        == 201
    )
    update = services.template_update

    def update_then_deleted(template, /, **kwargs):
        updated = update(template, **kwargs)
        services.template_delete(template=template, actor="t")
        return updated

    monkeypatch.setattr(views.services, "template_update", update_then_deleted)
    response = client.patch("/api/v1/templates/raced", {"description": "x"}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_booleans_take_true_or_false_only(make_client, workspace):
    client = make_client(workspace, scope="write")
    response = client.post("/api/v1/templates/search", {"facets": 0}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["details"] == {"facets": ["Must be true or false."]}
