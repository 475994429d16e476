"""API keys: bearer auth, scopes, workspace isolation, and the admin-scope key endpoints."""

import pytest
from rest_framework.test import APIClient

from promptconfig.workspaces.models import ApiKey
from promptconfig.workspaces.services import api_key_revoke
from tests.support.api import code_of

KEYS = "/api/v1/api-keys"


def test_a_request_without_a_key_is_401(db):
    response = APIClient().get(KEYS)
    assert response.status_code == 401
    assert code_of(response) == "authentication_failed"
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer", "Token abc", "Bearer a b", "Basic dXNlcjpwYXNz"])
def test_a_malformed_or_unknown_key_is_401(db, header):
    response = APIClient().get(KEYS, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert code_of(response) == "authentication_failed"


def test_a_revoked_key_is_401(make_client):
    client = make_client(scope="admin")
    assert client.get(KEYS).status_code == 200
    api_key_revoke(api_key=client.api_key)
    response = client.get(KEYS)
    assert response.status_code == 401
    assert code_of(response) == "authentication_failed"


@pytest.mark.parametrize(("scope", "allowed"), [("read", False), ("write", False), ("admin", True)])
def test_key_management_needs_the_admin_scope(make_client, workspace, scope, allowed):
    client = make_client(workspace, scope)
    listing = client.get(KEYS)
    creation = client.post(KEYS, {"name": "new", "scope": "read"}, format="json")
    if allowed:
        assert (listing.status_code, creation.status_code) == (200, 201)
    else:
        assert (listing.status_code, creation.status_code) == (403, 403)
        assert code_of(listing) == code_of(creation) == "permission_denied"


def test_a_new_key_is_shown_once_and_stored_hashed(api_client):
    created = api_client.post(KEYS, {"name": "ci", "scope": "write"}, format="json").json()
    plaintext = created["key"]
    assert plaintext.startswith("pc_") and created["prefix"] == plaintext[:11]
    stored = ApiKey.objects.get(pk=created["id"])
    assert stored.hashed_key != plaintext and plaintext not in stored.hashed_key
    assert "key" not in api_client.get(f"{KEYS}/{created['id']}").json()
    new_client = APIClient()
    new_client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    assert new_client.get(KEYS).status_code == 403  # a working key, with the write scope


def test_deleting_a_key_revokes_it_and_keeps_the_row(api_client):
    created = api_client.post(KEYS, {"name": "gone", "scope": "read"}, format="json").json()
    assert api_client.delete(f"{KEYS}/{created['id']}").status_code == 204
    listed = api_client.get(f"{KEYS}/{created['id']}").json()
    assert listed["is_active"] is False and listed["revoked_at"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {created['key']}")
    assert client.get(KEYS).status_code == 401


def test_another_workspaces_keys_are_invisible(make_client):
    mine, theirs = make_client(scope="admin"), make_client(scope="admin")
    assert [key["id"] for key in mine.get(KEYS).json()["results"]] == [mine.api_key.id]
    response = mine.get(f"{KEYS}/{theirs.api_key.id}")
    assert response.status_code == 404
    assert code_of(response) == "not_found"
    assert mine.delete(f"{KEYS}/{theirs.api_key.id}").status_code == 404
    theirs.api_key.refresh_from_db()
    assert theirs.api_key.is_active


def test_the_key_lookup_is_cached_and_use_is_recorded_at_most_once_a_minute(make_client, django_assert_num_queries):
    client = make_client(scope="admin")
    with django_assert_num_queries(4):  # key lookup, last_used_at update, count, page
        client.get(KEYS)
    client.api_key.refresh_from_db()
    first_use = client.api_key.last_used_at
    assert first_use is not None
    with django_assert_num_queries(2):  # count, page: the key comes from the cache, no write
        client.get(KEYS)
    client.api_key.refresh_from_db()
    assert client.api_key.last_used_at == first_use


def test_changing_a_keys_scope_takes_effect_at_once(make_client):
    from promptconfig.workspaces.services import api_key_update

    client = make_client(scope="admin")
    assert client.get(KEYS).status_code == 200
    api_key_update(api_key=client.api_key, name="demoted", scope="read")
    assert client.get(KEYS).status_code == 403


def test_a_key_created_without_a_scope_is_a_read_key(api_client):
    response = api_client.post("/api/v1/api-keys", {"name": "x"}, format="json")
    assert response.status_code == 201 and response.json()["scope"] == "read"
    assert api_client.post("/api/v1/api-keys", {"name": "y", "scope": "root"}, format="json").status_code == 400
