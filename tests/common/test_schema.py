from openapi_spec_validator import validate


def test_the_schema_is_valid_openapi_3(client, db):
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    validate(schema)
    assert "/api/v1/api-keys" in schema["paths"]
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_swagger_ui_is_served_without_any_cdn(client, db):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn.jsdelivr" not in page and "unpkg.com" not in page


def test_the_schema_generates_without_warnings(db, tmp_path):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_the_schema_states_key_rules_and_exact_patterns(client, db):
    """OpenAPI 3.1 (JSON Schema 2020-12) states what 3.0 could only describe: the key rules of `attributes` and
    `metrics` (`propertyNames`); patterns spell out the space characters the server trims (regex `\\s` differs
    between dialects)."""
    import re

    schema = client.get("/api/schema/?format=json").json()
    assert schema["openapi"] == "3.1.0"
    components = schema["components"]["schemas"]
    for name in ("ProfileWriteRequest", "PatchedProfileWriteRequest", "ProfileUpdateRequest"):
        names = components[name]["properties"]["attributes"]["propertyNames"]
        assert names == {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$", "maxLength": 100}
    metrics = components["FeedbackRequest"]["properties"]["metrics"]
    assert metrics["propertyNames"] == {"pattern": "^[a-z][a-z0-9_]{0,63}$"} and metrics["maxProperties"] == 20
    tag = re.compile(components["TemplateWriteRequest"]["properties"]["tags"]["items"]["pattern"])
    assert tag.search("earth science") and tag.search("x\ufeff")
    assert not any(tag.search(value) for value in (" x", "x ", "x\x1c", "\x85", "a,b", "x\u3000"))
    retrieve = schema["paths"]["/api/v1/templates/{key}"]["get"]
    assert "409" in retrieve["responses"]
    assert {p["name"]: p["schema"].get("pattern") for p in retrieve["parameters"]}["label"]


def test_the_comparison_schema_names_every_field_the_server_returns(writer, client):
    """One field instance under two names was documented under the last name only: `metadata_changes` was
    missing, and a generated client dropped it."""
    writer.post("/api/v1/templates", {"key": "t", "name": "T", "template": "a"}, format="json")
    writer.patch("/api/v1/templates/t", {"template": "b", "metadata": {"k": 1}}, format="json")
    compared = writer.get("/api/v1/templates/t/versions/compare?from=1&to=2")
    assert compared.status_code == 200, compared.content
    documented = client.get("/api/schema/?format=json").json()["components"]["schemas"]["Comparison"]["properties"]
    assert set(documented) == set(compared.json())
