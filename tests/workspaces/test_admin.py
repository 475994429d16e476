"""The API key admin, driven through a real browser against the live server."""

import httpx
import pytest
from django.contrib.admin.models import LogEntry
from selenium.webdriver.common.by import By

from promptconfig.workspaces.models import ApiKey
from promptconfig.workspaces.services import hash_api_key
from tests.support.browser import (
    admin_login,
    admin_messages,
    admin_run_action,
    open_page,
    select_by_value,
    submit,
    wait_for,
    wait_for_path,
)

ADMIN_USERNAME = "root"
ADMIN_PASSWORD = "correct-horse-battery-staple"  # a throwaway test credential
CHANGELIST = "/admin/workspaces/apikey/"


def list_api_keys(base_url: str, plaintext: str) -> httpx.Response:
    return httpx.get(
        f"{base_url}/api/v1/api-keys",
        headers={"Authorization": f"Bearer {plaintext}"},
        timeout=10,
        trust_env=False,  # straight to the live server, never through a proxy from the environment
    )


@pytest.mark.browser
def test_admin_shows_a_new_key_once_and_revoking_it_locks_the_api_out(
    transactional_db, live_server, browser, django_user_model, workspace
):
    django_user_model.objects.create_superuser(ADMIN_USERNAME, "root@example.com", ADMIN_PASSWORD)
    admin_login(browser, live_server.url, ADMIN_USERNAME, ADMIN_PASSWORD)

    # Create a key through the add form.
    open_page(browser, live_server.url, f"{CHANGELIST}add/")
    select_by_value(browser, "select#id_workspace", str(workspace.pk))
    wait_for(browser, "input#id_name").send_keys("Deploy bot")
    select_by_value(browser, "select#id_scope", ApiKey.Scope.ADMIN)
    submit(browser, "input[name=_save]")

    wait_for_path(browser, CHANGELIST)
    plaintext = wait_for(browser, "code.new-api-key").text.strip()
    assert plaintext.startswith("pc_"), admin_messages(browser)
    api_key = ApiKey.objects.get()
    assert (api_key.workspace, api_key.name, api_key.scope) == (workspace, "Deploy bot", ApiKey.Scope.ADMIN)
    assert plaintext.startswith(api_key.prefix)

    # The key works against the API.
    response = list_api_keys(live_server.url, plaintext)
    assert response.status_code == 200, response.text
    assert [key["name"] for key in response.json()["results"]] == ["Deploy bot"]

    # It is never shown again: not on its change page, not on the changelist.
    open_page(browser, live_server.url, f"{CHANGELIST}{api_key.pk}/change/")
    assert browser.find_element(By.CSS_SELECTOR, "#content h2, #content h1").is_displayed()
    assert "Deploy bot" in browser.page_source
    assert plaintext not in browser.page_source
    assert not browser.find_elements(By.CSS_SELECTOR, "code.new-api-key")
    open_page(browser, live_server.url, CHANGELIST)
    assert "Deploy bot" in browser.page_source
    assert plaintext not in browser.page_source
    assert not browser.find_elements(By.CSS_SELECTOR, "code.new-api-key")

    # Only its hash is stored, on the key and in the admin's audit log.
    api_key.refresh_from_db()
    assert api_key.hashed_key == hash_api_key(plaintext) != plaintext
    for field in ApiKey._meta.concrete_fields:
        assert plaintext not in str(field.value_from_object(api_key)), field.name
    for entry in LogEntry.objects.all():
        assert plaintext not in f"{entry.object_repr} {entry.change_message}"

    # Revoke it with the changelist action: the API now refuses it.
    admin_run_action(browser, "Revoke selected API keys", ["Deploy bot"])
    wait_for_path(browser, CHANGELIST)
    assert "Revoked 1 key(s)." in admin_messages(browser)
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None

    response = list_api_keys(live_server.url, plaintext)
    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "authentication_failed"
