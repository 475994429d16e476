"""A/B tests in the admin: create, control, assignments, and the results page with its charts and SRM warning."""

import random

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from abtests.models import ABTest, Assignment, MetricEvent
from abtests.services import ab_test_analyze, ab_test_create
from templates_app.services import template_create
from tests.factories import WorkspaceFactory
from tests.support.browser import (
    admin_login,
    admin_messages,
    admin_run_action,
    open_page,
    select_by_text,
    submit,
    wait_for,
)

ADMIN_USERNAME, ADMIN_PASSWORD = "root", "correct-horse-battery-staple"  # throwaway test credentials
SCREENSHOT = "/tmp/abtest-results.png"


@pytest.fixture
def workspace(db):
    workspace = WorkspaceFactory(name="Demo", slug="demo-ab")
    template_create(workspace=workspace, actor="t", key="steps", name="Steps", template="Steps about {{ topic }}.")
    template_create(workspace=workspace, actor="t", key="story", name="Story", template="A story about {{ topic }}.")
    return workspace


@pytest.fixture
def staff(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("staff", "s@example.com", "x"))
    return client


def imbalanced(workspace) -> ABTest:
    """A 50/50 test whose users came in 70/30, with B clearly better: SRM, so no winner."""
    test = ab_test_create(
        workspace=workspace,
        actor="t",
        name="Imbalanced",
        template_a="steps",
        template_b="story",
        target_metrics=["effectiveness", "rating"],
    )
    rng = random.Random(7)
    for variant, count, mean in (("A", 140, 0.5), ("B", 60, 0.7)):
        users = [f"{variant}{i}" for i in range(count)]
        Assignment.objects.bulk_create([Assignment(test=test, user_id=user, variant=variant) for user in users])
        MetricEvent.objects.bulk_create(
            [
                MetricEvent(test=test, user_id=u, variant=variant, metric="effectiveness", value=rng.gauss(mean, 0.1))
                for u in users
            ]
        )
    return test


def add_form(workspace, **change) -> dict:
    steps, story = (workspace.templates.get(key=key).pk for key in ("steps", "story"))
    return {
        "workspace": workspace.pk,
        "name": "Story vs steps",
        "description": "",
        "status": "active",
        "template_a": steps,
        "version_a": "",
        "template_b": story,
        "version_b": "",
        "traffic_split": "0.5",
        "target_metrics": "effectiveness, rating",
        "confidence_level": "0.95",
        "duration_days": "14",
        **change,
    }


def test_the_add_form_creates_an_active_test(staff, workspace):
    response = staff.post(reverse("admin:abtests_abtest_add"), add_form(workspace))
    assert response.status_code == 302, response.content.decode()[:3000]
    test = ABTest.objects.get()
    assert test.status == "active" and test.started_at and test.expires_at
    assert test.target_metrics == ["effectiveness", "rating"] and test.created_by == "admin:staff"


def test_the_add_form_refuses_what_the_api_refuses(staff, workspace):
    url = reverse("admin:abtests_abtest_add")
    staff.post(url, add_form(workspace))
    for change, text in (
        ({}, "already has an active A/B test"),  # a second active test for the same template_a
        ({"status": "draft", "template_b": workspace.templates.get(key="steps").pk}, "two different templates"),
        ({"status": "draft", "traffic_split": "1"}, "must be between 0 and 1"),
        ({"status": "draft", "target_metrics": " , "}, "Name at least one metric"),
    ):
        response = staff.post(url, add_form(workspace, **change))
        assert response.status_code == 200 and text in response.content.decode(), change
    assert ABTest.objects.count() == 1


def test_actions_move_the_status_through_the_services(staff, workspace):
    test = ab_test_create(
        workspace=workspace, actor="t", name="T", template_a="steps", template_b="story", target_metrics=["rating"]
    )
    changelist = reverse("admin:abtests_abtest_changelist")
    for action, status in (("pause", "paused"), ("activate", "active"), ("complete", "completed")):
        staff.post(changelist, {"action": action, "_selected_action": [test.pk]})
        test.refresh_from_db()
        assert test.status == status
    response = staff.post(changelist, {"action": "activate", "_selected_action": [test.pk]}, follow=True)
    assert "cannot go from completed to active" in response.content.decode()


def test_the_results_page(staff, workspace):
    test = imbalanced(workspace)
    url = reverse("admin:abtests_abtest_results", args=[test.pk])
    assert 'id="no-results"' in staff.get(url).content.decode()
    page = staff.post(url, follow=True).content.decode()
    assert 'id="srm-warning"' in page and 'id="no-winner"' in page
    assert page.count('class="ab-svg"') == 3  # participants, effectiveness, rating
    assert "140 (70.0%)" in page and "60 (30.0%)" in page
    assigned = staff.get(reverse("admin:abtests_assignment_changelist") + f"?test__id__exact={test.pk}")
    assert "200 assignments" in assigned.content.decode()


def test_seed_demo_adds_one_finished_test_with_results(db):
    from promptconfig.workspaces.management.commands._demo.abtests import seed_ab_test
    from promptconfig.workspaces.management.commands._demo.templates import seed_templates

    workspace = WorkspaceFactory()
    seed_templates(workspace=workspace)
    assert seed_ab_test(workspace=workspace) is True
    assert seed_ab_test(workspace=workspace) is False
    test = ABTest.objects.get(workspace=workspace)
    assert test.status == "completed" and test.assignments.count() == 400
    assert test.assignments.filter(variant="A").count() == 200  # an even split, whatever the test's id
    assert test.results["winner"] == "template_b" and test.results["srm"]["mismatch"] is False


@pytest.mark.browser
def test_an_author_creates_a_test_and_reads_its_results_in_a_browser(
    transactional_db, live_server, browser, django_user_model, workspace
):
    django_user_model.objects.create_superuser(ADMIN_USERNAME, "root@example.com", ADMIN_PASSWORD)
    admin_login(browser, live_server.url, ADMIN_USERNAME, ADMIN_PASSWORD)

    open_page(browser, live_server.url, reverse("admin:abtests_abtest_add"))
    select_by_text(browser, "#id_workspace", str(workspace))
    wait_for(browser, "#id_name").send_keys("Story vs steps")
    select_by_text(browser, "#id_template_a", str(workspace.templates.get(key="steps")))
    select_by_text(browser, "#id_template_b", str(workspace.templates.get(key="story")))
    traffic = wait_for(browser, "#id_traffic_split")
    traffic.clear()
    traffic.send_keys("0.5")
    submit(browser, "input[name=_save]")
    errors = [element.text for element in browser.find_elements(By.CSS_SELECTOR, ".errors")]
    assert any("was added successfully" in message for message in admin_messages(browser)), errors
    created = ABTest.objects.get(name="Story vs steps")
    assert created.status == "active"

    admin_run_action(browser, "Pause selected tests", ["Story vs steps"])
    created.refresh_from_db()
    assert created.status == "paused"

    test = imbalanced(workspace)
    ab_test_analyze(test_id=test.pk)
    open_page(browser, live_server.url, reverse("admin:abtests_abtest_changelist"))
    browser.find_element(By.XPATH, "//tr[.//a[text()='Imbalanced']]//a[text()='results']").click()
    assert "Sample-ratio mismatch" in wait_for(browser, "#srm-warning").text
    assert wait_for(browser, "#chart-participants svg").size["height"] > 50
    assert wait_for(browser, "#chart-metric-effectiveness svg").size["height"] > 50
    fill = browser.execute_script("return getComputedStyle(document.querySelector('#chart-participants rect')).fill")
    assert fill == "rgb(76, 110, 245)"  # the stylesheet is applied
    submit(browser, "#analyze-now")
    assert wait_for(browser, "#srm-warning")
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False}
    )
    assert browser.save_screenshot(SCREENSHOT)
