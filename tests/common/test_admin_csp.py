"""The Content Security Policy of the admin (django-csp): its header, and a real browser using the admin under it."""

import pytest
from django.test import Client
from selenium.webdriver.common.by import By

from promptconfig.workspaces.management.commands._demo.generations import seed_generations
from promptconfig.workspaces.management.commands._demo.templates import seed_templates
from templates_app.services import template_create
from tests.factories import WorkspaceFactory
from tests.support.browser import (
    admin_login,
    csp_violations,
    open_page,
    select_by_value,
    wait_for,
    wait_for_path,
    wait_until,
    watch_csp_violations,
)

ADMIN_USERNAME = "root"
ADMIN_PASSWORD = "correct-horse-battery-staple"  # a throwaway test credential
BODY = "Explain {{ topic }} in three sentences."
ADMIN_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self' 'unsafe-inline'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


def policy_of(response) -> dict[str, str]:
    directives = (part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";"))
    return {name: value for name, value in directives}


def test_admin_pages_carry_the_policy_and_the_api_does_not(admin_client, db):
    for path in ("/admin/", "/admin/templates_app/prompttemplate/", "/admin/analytics/"):
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert policy_of(response) == ADMIN_POLICY, path
    assert policy_of(Client().get("/admin/login/")) == ADMIN_POLICY

    # /api/ answers JSON, and Swagger UI's page runs an inline script: neither gets the policy.
    docs = Client().get("/api/docs/")
    assert docs.status_code == 200 and "Content-Security-Policy" not in docs
    assert "Content-Security-Policy" not in Client().get("/api/v1/templates")


@pytest.mark.browser
def test_the_admin_works_in_a_browser_under_its_policy_without_a_single_violation(
    transactional_db, live_server, browser, django_user_model
):
    workspace = WorkspaceFactory(slug="demo-ws", name="Demo workspace")
    seed_templates(workspace=workspace)
    seed_generations(workspace=workspace)
    template = template_create(workspace=workspace, actor="test", key="lesson", name="Lesson", template=BODY)
    django_user_model.objects.create_superuser(ADMIN_USERNAME, "root@example.com", ADMIN_PASSWORD)
    watch_csp_violations(browser)

    open_page(browser, live_server.url, "/admin/login/")
    assert csp_violations(browser) == []
    admin_login(browser, live_server.url, ADMIN_USERNAME, ADMIN_PASSWORD)
    assert csp_violations(browser) == []

    # The policy is in force, and a violation would be seen: an injected inline script is refused and reported.
    browser.execute_script(
        "var s = document.createElement('script'); s.textContent = 'window.__inlineRan = true;';"
        "document.body.appendChild(s);"
    )
    assert browser.execute_script("return window.__inlineRan === undefined")
    seen: list[str] = []
    wait_until(browser, lambda d: seen.extend(csp_violations(d)) or any("script-src" in v for v in seen))

    # The template's change page: the admin's own scripts (jQuery, its widgets) load and run.
    change_path = f"/admin/templates_app/prompttemplate/{template.pk}/change/"
    open_page(browser, live_server.url, change_path)
    assert wait_for(browser, "textarea#id_body.pc-code").get_attribute("value") == template.served_version.body
    assert browser.execute_script("return typeof window.django.jQuery") == "function"
    assert browser.find_elements(By.CSS_SELECTOR, "#versions-group tbody tr.has_original")
    assert csp_violations(browser) == []

    # The preview page: its script (a static file) re-renders live, through fetch to the same origin.
    wait_for(browser, "a#tool-preview").click()
    wait_for_path(browser, f"/admin/templates_app/prompttemplate/{template.pk}/preview/")
    select_by_value(browser, "select#id_version", str(template.served_version.number))
    variables = wait_for(browser, "textarea#id_variables")
    variables.clear()
    variables.send_keys('{"topic": "tidal pools"}')
    wait_until(browser, lambda d: "tidal pools" in d.find_element(By.ID, "preview-result").text)
    assert csp_violations(browser) == []

    # The analytics page: SVG charts with inline style attributes and its stylesheet, all applied.
    open_page(browser, live_server.url, "/admin/analytics/?workspace=demo-ws")
    assert wait_for(browser, "#chart-generations svg").size["height"] > 100
    fill = browser.execute_script(
        "return getComputedStyle(document.querySelector('#chart-generations rect.pc-hit')).fill"
    )
    assert fill == "rgb(42, 157, 143)"
    assert csp_violations(browser) == []

    # The changelist and the index, for good measure.
    for path in ("/admin/templates_app/prompttemplate/", "/admin/"):
        open_page(browser, live_server.url, path)
        assert csp_violations(browser) == [], path


@pytest.mark.browser
def test_swagger_ui_still_renders_outside_the_policy(transactional_db, live_server, browser):
    watch_csp_violations(browser)
    open_page(browser, live_server.url, "/api/docs/")
    wait_for(browser, "#swagger-ui .swagger-ui")
    assert csp_violations(browser) == []
