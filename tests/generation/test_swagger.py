"""Swagger UI's "Try it out" with the documented example works: a client built from the document gets a 200."""

import pytest
from selenium.webdriver.common.by import By

from profiles.services import profile_create
from promptconfig.workspaces.services import api_key_create
from templates_app.services import template_create
from tests.factories import WorkspaceFactory
from tests.support.browser import open_page, wait_for, wait_for_clickable, wait_until


@pytest.mark.browser
def test_try_it_out_with_the_documented_generate_example(transactional_db, live_server, browser):
    workspace = WorkspaceFactory()
    # What the documented example names: template `lesson` reading `topic`, user `u42`.
    template_create(workspace=workspace, actor="t", key="lesson", name="Lesson", template="Explain {{ topic }}.")
    profile_create(workspace=workspace, user_id="u42")
    _, key = api_key_create(workspace=workspace, name="swagger", scope="read")

    open_page(browser, live_server.url, "/api/docs/")
    wait_for_clickable(browser, ".swagger-ui .btn.authorize").click()
    wait_for(browser, ".modal-ux input").send_keys(key)
    browser.find_element(By.CSS_SELECTOR, ".modal-ux .auth-btn-wrapper .btn.authorize").click()
    browser.find_element(By.CSS_SELECTOR, ".modal-ux .btn-done").click()

    operation = wait_for(browser, "#operations-generation-v1_prompts_generate_create")
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
    wait_for_clickable(browser, "#operations-generation-v1_prompts_generate_create .try-out__btn").click()
    body = wait_for(browser, "#operations-generation-v1_prompts_generate_create textarea.body-param__text")
    assert '"template_id": "lesson"' in body.get_attribute("value")  # the documented example, unchanged
    wait_for_clickable(browser, "#operations-generation-v1_prompts_generate_create .execute").click()
    status = wait_until(
        browser,
        lambda d: d.find_elements(
            By.CSS_SELECTOR,
            "#operations-generation-v1_prompts_generate_create .live-responses-table tr.response .response-col_status",
        ),
    )
    assert status[0].text.strip().startswith("200"), status[0].text
    answer = browser.find_element(
        By.CSS_SELECTOR, "#operations-generation-v1_prompts_generate_create .live-responses-table .microlight"
    ).text
    assert "Explain volcanoes." in answer
