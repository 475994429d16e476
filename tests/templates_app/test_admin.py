"""The authors' admin for templates: a real browser for the authoring flow, the test client for permissions."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from selenium.webdriver.common.by import By

from promptconfig.events.models import Event
from templates_app.models import PromptTemplate
from templates_app.services import template_create, template_update
from tests.factories import WorkspaceFactory
from tests.support.browser import (
    admin_login,
    admin_messages,
    admin_run_action,
    open_page,
    select_by_value,
    submit,
    wait_for,
    wait_for_path,
    wait_until,
)

ADMIN_USERNAME = "root"
ADMIN_PASSWORD = "correct-horse-battery-staple"  # a throwaway test credential
CHANGELIST = "/admin/templates_app/prompttemplate/"
BODY_V1 = (
    "You are a patient tutor.\n"
    "Explain {{ topic }} to a student who learns best with a {{ learning_style }} style.\n"
    "Keep it under 200 words."
)
BODY_V2 = (
    "You are a patient tutor.\n"
    "Explain {{ topic }} in five short steps to a student who learns best with a {{ learning_style }} style.\n"
    "Keep it under 150 words and answer as a numbered list."
)


def served_number(template: PromptTemplate) -> int:
    template.refresh_from_db()
    return template.served_version.number


def type_into(driver, css: str, text: str) -> None:
    field = wait_for(driver, css)
    field.clear()
    field.send_keys(text)


def full_page_screenshot(driver, path: str) -> None:
    """Save the whole page (not just the 1280x900 viewport), then restore the window size."""
    size = driver.get_window_size()
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(size["width"], min(max(height + 140, size["height"]), 4000))
    try:
        driver.save_screenshot(path)
    finally:
        driver.set_window_size(size["width"], size["height"])


def preview(driver, version: int, variables: str) -> None:
    select_by_value(driver, "select#id_version", str(version))
    type_into(driver, "textarea#id_variables", variables)
    submit(driver, "#preview-submit")


@pytest.mark.browser
def test_author_creates_previews_edits_compares_publishes_and_rolls_back(
    transactional_db, live_server, browser, django_user_model
):
    workspace = WorkspaceFactory()
    django_user_model.objects.create_superuser(ADMIN_USERNAME, "root@example.com", ADMIN_PASSWORD)
    admin_login(browser, live_server.url, ADMIN_USERNAME, ADMIN_PASSWORD)

    # Add a template through the add form.
    open_page(browser, live_server.url, f"{CHANGELIST}add/")
    select_by_value(browser, "select#id_workspace", str(workspace.pk))
    type_into(browser, "input#id_key", "lesson")
    type_into(browser, "input#id_name", "Lesson")
    type_into(browser, "textarea#id_body", BODY_V1)
    type_into(browser, "input#id_change_note", "First draft")
    submit(browser, "input[name=_save]")
    wait_for_path(browser, CHANGELIST)
    template = PromptTemplate.objects.get(workspace=workspace, key="lesson")
    assert (template.language, template.name, template.status) == ("en", "Lesson", "published")
    assert template.created_by == f"admin:{ADMIN_USERNAME}"
    assert served_number(template) == 1
    assert template.versions.get().body == BODY_V1
    change_path = f"{CHANGELIST}{template.pk}/change/"

    # Preview v1: a missing variable is listed, then the full render is shown.
    open_page(browser, live_server.url, change_path)
    wait_for(browser, "textarea#id_body.pc-code")
    wait_for(browser, "a#tool-preview").click()
    wait_for_path(browser, f"{CHANGELIST}{template.pk}/preview/")
    preview(browser, 1, '{"topic": "volcanoes"}')
    missing = [item.text for item in browser.find_elements(By.CSS_SELECTOR, "#preview-missing li")]
    assert missing == ["learning_style"], browser.find_element(By.ID, "preview-result").text
    assert not browser.find_elements(By.CSS_SELECTOR, "#preview-output")
    preview(browser, 1, '{"topic": "volcanoes", "learning_style": "visual"}')
    assert wait_for(browser, "#preview-output").text == (
        "You are a patient tutor.\nExplain volcanoes to a student who learns best with a visual style.\n"
        "Keep it under 200 words."
    )
    assert not browser.find_elements(By.CSS_SELECTOR, "#preview-missing, #preview-error")
    preview(browser, 1, "{not json")
    assert "JSON" in wait_for(browser, "#preview-error").text
    # The preview also follows the input live, without pressing the button.
    type_into(browser, "textarea#id_variables", '{"topic": "lava lamps", "learning_style": "visual"}')
    wait_until(browser, lambda d: "lava lamps" in d.find_element(By.ID, "preview-result").text)
    full_page_screenshot(browser, "/tmp/admin_preview.png")

    # Edit the body: saving makes v2, served at once ("Publish now" is ticked by default).
    open_page(browser, live_server.url, change_path)
    assert wait_for(browser, "textarea#id_body").get_attribute("value") == BODY_V1
    assert browser.find_element(By.ID, "id_publish_now").is_selected()
    type_into(browser, "textarea#id_body", BODY_V2)
    type_into(browser, "input#id_change_note", "Shorter, as a list")
    submit(browser, "input[name=_continue]")
    wait_for_path(browser, change_path)
    rows = browser.find_elements(By.CSS_SELECTOR, "#versions-group tbody tr.has_original")
    assert [row.find_element(By.CSS_SELECTOR, "td.field-version").text for row in rows] == ["v2", "v1"]
    assert "Shorter, as a list" in rows[0].text and "production" in rows[0].text
    assert template.versions.count() == 2
    assert served_number(template) == 2

    # Compare v1 with v2, side by side.
    wait_for(browser, "a#tool-compare").click()
    wait_for_path(browser, f"{CHANGELIST}{template.pk}/compare/")
    select_by_value(browser, "select#id_from", "1")
    select_by_value(browser, "select#id_to", "2")
    submit(browser, "#compare-submit")
    table = wait_for(browser, "table.diff")
    assert "five short steps" in table.text and "150 words" in table.text and "200 words" in table.text
    assert browser.find_elements(By.CSS_SELECTOR, "table.diff .diff_chg, table.diff .diff_add")
    assert wait_for(browser, "#compare-similarity").text.endswith("%")
    full_page_screenshot(browser, "/tmp/admin_diff.png")

    # Roll back to v1 from the version history, then publish the latest (v2) with the changelist action.
    open_page(browser, live_server.url, change_path)
    submit(browser, "button[name=rollback][value='1']")
    wait_for_path(browser, change_path)
    assert any("production now serves v1" in message for message in admin_messages(browser))
    assert served_number(template) == 1
    assert Event.objects.filter(
        subject_pk=template.pk, type="template.rolled_back", actor=f"admin:{ADMIN_USERNAME}"
    ).exists()
    wait_for(browser, "#versions-group")
    full_page_screenshot(browser, "/tmp/admin_change.png")

    open_page(browser, live_server.url, CHANGELIST)
    admin_run_action(browser, "Publish the latest version", ["lesson"])
    wait_for_path(browser, CHANGELIST)
    assert any("serves v2" in message for message in admin_messages(browser)), admin_messages(browser)
    assert served_number(template) == 2
    served_cell = wait_until(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#result_list td.field-served"))
    assert served_cell.text == "v2"


# --- A staff author without the publish permission ----------------------------------------------------
@pytest.fixture
def author(django_user_model):
    user = django_user_model.objects.create_user("author", "author@example.com", "pw", is_staff=True)
    codenames = ["add_prompttemplate", "change_prompttemplate", "view_prompttemplate"]
    permissions = Permission.objects.filter(content_type__app_label="templates_app", codename__in=codenames)
    user.user_permissions.set(permissions)
    return user


@pytest.fixture
def lesson(workspace):
    return template_create(workspace=workspace, actor="test", key="lesson", name="Lesson", template=BODY_V1)


def change_form_data(response) -> dict:
    """What the browser would post back from this change page, unchanged."""
    form = response.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif value is not None:
            data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management[name].value()
        for inline_form in inline.formset.forms:
            for field in inline_form.hidden_fields():
                data[field.html_name] = field.value()
    return data


def test_an_author_without_publish_permission_saves_versions_but_never_moves_production(client, author, lesson):
    client.force_login(author)
    change_url = reverse("admin:templates_app_prompttemplate_change", args=[lesson.pk])
    page = client.get(change_url)
    assert page.status_code == 200
    assert page.context["adminform"].form.fields["publish_now"].disabled
    assert b'name="publish"' not in page.content and b'name="rollback"' not in page.content
    assert b'id="serve-form"' not in page.content

    data = change_form_data(page)
    data.update(body=BODY_V2, change_note="Try a list", publish_now="on")  # the tick is ignored
    response = client.post(change_url, data)
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    lesson.refresh_from_db()
    assert lesson.latest_version_number == 2
    assert lesson.versions.get(number=2).created_by == "admin:author"
    assert served_number(lesson) == 1
    assert lesson.labels.get(name="production").version.number == 1

    # The serving actions are not offered, and posting them anyway does nothing.
    changelist = client.get(reverse("admin:templates_app_prompttemplate_changelist"))
    offered = {name for name, _ in changelist.context["action_form"].fields["action"].choices}
    assert {"publish_latest", "rollback", "deprecate", "archive"}.isdisjoint(offered)
    assert "fork" in offered
    for action in ("publish_latest", "deprecate", "archive"):
        client.post(
            reverse("admin:templates_app_prompttemplate_changelist"),
            {"action": action, "_selected_action": [lesson.pk], "index": 0},
        )
    lesson.refresh_from_db()
    assert (served_number(lesson), lesson.status) == (1, "published")

    # Nor can the serve form's endpoint be posted to.
    publish_url = reverse("admin:templates_app_prompttemplate_publish", args=[lesson.pk])
    assert client.post(publish_url, {"publish": 2}).status_code == 403
    assert served_number(lesson) == 1
    assert not Event.objects.filter(subject_pk=lesson.pk, type="template.published", actor="admin:author").exists()


def test_an_author_adds_a_template_as_a_draft(client, author, workspace):
    client.force_login(author)
    response = client.post(
        reverse("admin:templates_app_prompttemplate_add"),
        {
            "workspace": workspace.pk,
            "key": "quiz",
            "name": "Quiz",
            "body": "Ask about {{ topic }}.",
            "variables": "tone",
            "tag_names": "edu, quiz",
            "priority": 0,
            "is_active": "on",
            "publish_now": "on",
        },
    )
    assert response.status_code == 302, response.context and response.context["adminform"].form.errors
    quiz = PromptTemplate.objects.get(key="quiz")
    assert quiz.status == "draft" and quiz.created_by == "admin:author"
    assert sorted(quiz.tags.values_list("name", flat=True)) == ["edu", "quiz"]
    assert quiz.served_version.variables == ["tone"]


def test_engine_and_service_errors_are_form_errors_and_nothing_is_saved(admin_client, lesson):
    change_url = reverse("admin:templates_app_prompttemplate_change", args=[lesson.pk])
    data = change_form_data(admin_client.get(change_url))
    data["body"] = "Hello {% if %}"
    response = admin_client.post(change_url, data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["body"]
    lesson.refresh_from_db()
    assert lesson.latest_version_number == 1

    data.update(body=BODY_V1, variable_schema="{not json")
    response = admin_client.post(change_url, data)
    assert response.status_code == 200 and "variable_schema" in response.context["adminform"].form.errors

    add = admin_client.post(
        reverse("admin:templates_app_prompttemplate_add"),
        {"workspace": lesson.workspace_id, "key": "lesson", "name": "Again", "body": "Hi", "priority": 0},
    )
    assert add.status_code == 200 and add.context["adminform"].form.errors
    assert PromptTemplate.objects.filter(key="lesson").count() == 1


def test_soft_delete_and_fork_from_the_changelist(admin_client, lesson):
    changelist = reverse("admin:templates_app_prompttemplate_changelist")
    admin_client.post(changelist, {"action": "fork", "_selected_action": [lesson.pk], "index": 0})
    admin_client.post(changelist, {"action": "fork", "_selected_action": [lesson.pk], "index": 0})
    forks = PromptTemplate.objects.filter(key__startswith="lesson_fork").order_by("key")
    assert [(fork.key, fork.status) for fork in forks] == [("lesson_fork", "draft"), ("lesson_fork2", "draft")]

    admin_client.post(
        changelist, {"action": "delete_selected", "_selected_action": [lesson.pk], "index": 0, "post": "yes"}
    )
    lesson.refresh_from_db()
    assert lesson.deleted_at is not None and lesson.versions.count() == 1
    page = admin_client.get(changelist)
    assert [template.key for template in page.context["cl"].result_list] == ["lesson_fork", "lesson_fork2"]


def test_preview_reports_missing_and_invalid_variables_and_compare_shows_the_change(admin_client, workspace):
    schema = {"type": "object", "properties": {"topic": {"type": "string", "minLength": 3}}}
    lesson = template_create(
        workspace=workspace, actor="test", key="lesson", name="Lesson", template=BODY_V1, variable_schema=schema
    )
    preview_url = reverse("admin:templates_app_prompttemplate_preview", args=[lesson.pk])
    page = admin_client.get(preview_url)
    assert page.status_code == 200 and b'id="preview-form"' in page.content

    missing = admin_client.post(preview_url, {"version": 1, "variables": '{"topic": "volcanoes"}'})
    assert missing.context["result"]["missing"] == ["learning_style"]
    assert b'id="preview-missing"' in missing.content
    invalid = admin_client.post(preview_url, {"version": 1, "variables": '{"topic": "ab", "learning_style": "x"}'})
    assert b'id="preview-error"' in invalid.content and b"too short" in invalid.content
    live = admin_client.post(
        preview_url,
        {"version": 1, "variables": '{"topic": "lava", "learning_style": "visual"}'},
        headers={"X-Preview-Live": "1"},
    )
    assert b'id="preview-output"' in live.content and b"<html" not in live.content and b"Explain lava" in live.content
    assert admin_client.post(preview_url, {"version": 7, "variables": "{}"}).status_code == 200  # no such version

    compare_url = reverse("admin:templates_app_prompttemplate_compare", args=[lesson.pk])
    lesson_v2 = {"template": BODY_V2, "variables": ["tone"], "change_note": "list"}
    template_update(lesson, actor="test", **lesson_v2)
    compared = admin_client.get(compare_url)  # defaults: the latest against the one before
    assert compared.context["older"].number == 1 and compared.context["newer"].number == 2
    assert b'class="diff"' in compared.content and b"five short steps" in compared.content
    assert compared.context["compared"]["variables_added"] == ["tone"]
    assert admin_client.get(compare_url, {"from": 1, "to": 9}).status_code == 200


def test_an_invalid_variable_schema_is_a_form_error(admin_client, lesson):
    change_url = reverse("admin:templates_app_prompttemplate_change", args=[lesson.pk])
    data = change_form_data(admin_client.get(change_url))
    data["variable_schema"] = '{"type": "nonsense"}'
    response = admin_client.post(change_url, data)
    assert response.status_code == 200
    assert "schema" in str(response.context["adminform"].form.errors["variable_schema"])
    lesson.refresh_from_db()
    assert lesson.latest_version_number == 1


def test_the_history_button_shows_the_templates_events(admin_client, lesson, writer):
    writer.patch("/api/v1/templates/lesson", {"template": "Second {{ topic }}"}, format="json")
    change = admin_client.get(reverse("admin:templates_app_prompttemplate_change", args=[lesson.pk])).content.decode()
    history_url = reverse("admin:templates_app_prompttemplate_history", args=[lesson.pk])
    assert history_url in change
    page = admin_client.get(history_url).content.decode()
    assert "Version Created v2" in page and "api:write key" in page and "Created v1" in page
    assert "change history" not in page.split("Change history:")[-1]  # not Django's empty log


def test_the_admin_is_branded_and_the_root_leads_to_it(admin_client, client):
    assert "PromptConfig" in admin_client.get("/admin/").content.decode()
    assert "Django administration" not in admin_client.get("/admin/").content.decode()
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"


def test_a_model_config_outside_the_model_id_rule_is_a_form_error(admin_client, lesson):
    """The admin saves through the same service as the API: the same model-id rule, shown on the field."""
    change_url = reverse("admin:templates_app_prompttemplate_change", args=[lesson.pk])
    data = change_form_data(admin_client.get(change_url))
    data["model_config"] = '{"provider": "azure-openai", "model": "../../../internal/steal?x="}'
    response = admin_client.post(change_url, data)
    assert response.status_code == 200
    assert "'model' must be" in " ".join(response.context["adminform"].form.errors["model_config"])
    lesson.refresh_from_db()
    assert lesson.latest_version_number == 1

    data["model_config"] = '{"provider": "azure-openai", "model": "gpt4o-deploy"}'
    assert admin_client.post(change_url, data).status_code == 302
    lesson.refresh_from_db()
    assert lesson.served_version.model_config == {"provider": "azure-openai", "model": "gpt4o-deploy"}

    add = admin_client.post(
        reverse("admin:templates_app_prompttemplate_add"),
        {
            "workspace": lesson.workspace_id,
            "key": "quiz",
            "name": "Quiz",
            "body": "Hi",
            "priority": 0,
            "model_config": '{"provider": "open ai", "model": "gpt-4o"}',
        },
    )
    assert add.status_code == 200 and "'provider' must be" in " ".join(
        add.context["adminform"].form.errors["model_config"]
    )
    assert not PromptTemplate.objects.filter(key="quiz").exists()


def test_a_template_others_include_is_not_deleted_from_the_admin(admin_client, lesson, workspace):
    template_create(workspace=workspace, actor="t", key="page", name="Page", template="{% include 'lesson' %}")
    delete = reverse("admin:templates_app_prompttemplate_delete", args=[lesson.pk])
    response = admin_client.post(delete, {"post": "yes"}, follow=True)
    assert response.status_code == 200 and any("page" in str(message) for message in response.context["messages"])
    changelist = reverse("admin:templates_app_prompttemplate_changelist")
    action = {"action": "delete_selected", "_selected_action": [lesson.pk], "index": 0, "post": "yes"}
    response = admin_client.post(changelist, action, follow=True)
    assert any("was not deleted" in str(message) for message in response.context["messages"])
    lesson.refresh_from_db()
    assert lesson.deleted_at is None
