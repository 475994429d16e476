"""The staff analytics page of the admin, its link on the admin index, and the demo data it is meant to show."""

import re
from io import StringIO

import pytest
from django.core.management import call_command
from selenium.webdriver.common.by import By

from generation.models import Generation
from profiles.models import UserProfile
from profiles.services import profile_create
from promptconfig.workspaces.management.commands._demo.generations import HISTORY_SIZE, seed_generations
from promptconfig.workspaces.management.commands._demo.profiles import DEMO_PROFILES, seed_profiles
from promptconfig.workspaces.management.commands._demo.templates import seed_templates
from templates_app.models import PromptTemplate
from tests.factories import WorkspaceFactory
from tests.support.browser import (
    admin_login,
    open_page,
    select_by_value,
    submit,
    wait_for,
    wait_for_clickable,
    wait_for_path,
    wait_until,
)

PAGE = "/admin/analytics/"
CHART_IDS = ["chart-generations", "chart-cache", "chart-top-templates", "chart-ratings"]
ADMIN_USERNAME = "root"
ADMIN_PASSWORD = "correct-horse-battery-staple"  # a throwaway test credential
SCREENSHOT = "/tmp/analytics.png"


@pytest.fixture
def demo_workspace(db):
    workspace = WorkspaceFactory(slug="demo-ws", name="Demo workspace")
    seed_templates(workspace=workspace)
    seed_generations(workspace=workspace)
    return workspace


@pytest.fixture
def staff_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_user("staff", password="x", is_staff=True))
    return client


def charts_in(page: str) -> int:
    return page.count('class="pc-svg"')


# --- the page ------------------------------------------------------------------------------------
def test_staff_see_the_charts_of_the_busiest_workspace_by_default(staff_client, demo_workspace):
    WorkspaceFactory(slug="quiet", name="Quiet workspace")
    response = staff_client.get(PAGE)
    assert response.status_code == 200
    page = response.content.decode()
    assert charts_in(page) == 4
    for chart_id in CHART_IDS:
        assert f'id="{chart_id}"' in page
    assert '<option value="demo-ws" selected>' in page and '<option value="quiet">' in page
    for key in ("content_gen_visual", "content_gen_textual", "question_gen_quiz", "feedback_summary"):
        assert key in page
    # One stacked bar group per day, and the 14-day total in the cards.
    assert page.count('class="pc-bar-group"') == 14
    total = Generation.objects.filter(workspace=demo_workspace).count()
    assert re.search(rf'<span class="pc-card-value">{total}</span>', page)
    assert "<script" not in page.split('id="content-main"')[1]  # charts are plain SVG


def test_the_workspace_selector_switches_workspaces(staff_client, demo_workspace):
    other = WorkspaceFactory(slug="other", name="Other workspace")
    page = staff_client.get(PAGE, {"workspace": "other"}).content.decode()
    assert '<option value="other" selected>' in page
    assert "content_gen_visual" not in page  # the demo workspace's data is not shown
    assert "No generations yet." in page and "No ratings yet." in page
    assert charts_in(page) == 1  # the (empty) daily chart is still drawn
    assert other.name in page


def test_the_page_without_any_workspace(staff_client):
    response = staff_client.get(PAGE)
    assert response.status_code == 200
    assert "There are no workspaces yet." in response.content.decode()


def test_the_page_is_for_staff_only(client, django_user_model, demo_workspace):
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"] == f"/admin/login/?next={PAGE}"
    client.force_login(django_user_model.objects.create_user("learner", password="x", is_staff=False))
    response = client.get(PAGE)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_the_admin_index_links_to_the_page(staff_client):
    page = staff_client.get("/admin/").content.decode()
    assert 'id="analytics-link"' in page and f'href="{PAGE}"' in page


# --- the demo data -------------------------------------------------------------------------------
def run_seed_demo() -> list[str]:
    out = StringIO()
    call_command("seed_demo", stdout=out, stderr=StringIO())
    return out.getvalue().splitlines()


def test_seed_demo_adds_profiles_and_generation_history_once(db):
    first = run_seed_demo()
    generations = Generation.objects.filter(workspace__slug="demo")
    profiles = UserProfile.objects.filter(workspace__slug="demo")
    assert profiles.count() == len(DEMO_PROFILES) == 6
    assert len(set(profiles.values_list("learning_style", flat=True))) == 4
    assert len(set(profiles.values_list("difficulty_level", flat=True))) == 3
    assert generations.count() == HISTORY_SIZE
    assert any("6 learner profiles, 200 generations created" in line for line in first)

    second = run_seed_demo()
    assert profiles.count() == 6 and generations.count() == HISTORY_SIZE
    assert any("0 learner profiles, 0 generations created" in line for line in second)
    assert first[-1].startswith("pc_") and "unchanged" in second[-1]  # the key comes last, once


def test_seeded_history_looks_like_real_use(db):
    workspace = WorkspaceFactory()
    seed_templates(workspace=workspace)
    profile_create(workspace=workspace, user_id="demo-ada", learning_style="kinesthetic")  # an existing profile stays
    assert seed_profiles(workspace=workspace) == 5
    assert UserProfile.objects.get(workspace=workspace, user_id="demo-ada").learning_style == "kinesthetic"
    assert seed_generations(workspace=workspace) == HISTORY_SIZE
    assert seed_generations(workspace=workspace) == 0

    rows = list(Generation.objects.filter(workspace=workspace))
    days = {row.created_at.date() for row in rows}
    assert 12 <= len(days) <= 14
    assert 0.45 <= sum(row.cache_hit for row in rows) / len(rows) <= 0.75
    rated = [row for row in rows if row.rating is not None]
    assert 0.2 <= len(rated) / len(rows) <= 0.5
    assert all(1 <= row.rating <= 5 and 0 <= row.effectiveness_score <= 1 for row in rated)
    assert len({row.template_id for row in rows}) == 5
    for row in rows[:20]:  # real renders of the served version with the applied variables
        assert row.variables["topic"] in row.text and "{{" not in row.text
        assert row.version_id == row.template.served_version_id
    german = [row for row in rows if row.language == "de"]
    assert german and {row.user_id for row in german} <= {"demo-emma", "demo-felix"}
    # The templates' statistics agree with their generations.
    for template in PromptTemplate.objects.filter(workspace=workspace):
        mine = [row for row in rows if row.template_id == template.pk]
        assert template.usage_count == len(mine)
        assert template.rating_count == len([row for row in mine if row.rating is not None])


# --- in a real browser ---------------------------------------------------------------------------
@pytest.mark.browser
def test_a_staff_member_opens_the_analytics_from_the_admin_index(
    transactional_db, live_server, browser, django_user_model, demo_workspace
):
    django_user_model.objects.create_superuser(ADMIN_USERNAME, "root@example.com", ADMIN_PASSWORD)
    admin_login(browser, live_server.url, ADMIN_USERNAME, ADMIN_PASSWORD)

    wait_for_clickable(browser, "#analytics-link a.section").click()
    wait_for_path(browser, PAGE)
    for chart_id in CHART_IDS:
        assert wait_for(browser, f"#{chart_id} svg").size["height"] > 100, chart_id
    bars = browser.find_elements(By.CSS_SELECTOR, "#chart-generations rect.pc-hit, #chart-generations rect.pc-miss")
    assert len(bars) >= 20
    top_labels = [element.text for element in browser.find_elements(By.CSS_SELECTOR, "#chart-top-templates .pc-label")]
    assert top_labels[0].startswith("content_gen_visual")
    assert "%" in browser.find_element(By.CSS_SELECTOR, "#chart-cache .pc-donut-value").text
    # The stylesheet is applied: the bars are coloured, the cards laid out side by side.
    fill = browser.execute_script(
        "return getComputedStyle(document.querySelector('#chart-generations rect.pc-hit')).fill"
    )
    assert fill == "rgb(42, 157, 143)"
    cards = browser.find_elements(By.CSS_SELECTOR, ".pc-card")
    assert len(cards) == 5 and len({card.location["y"] for card in cards}) == 1

    # Full-page screenshot, for a person to look at.
    height = browser.execute_script("return document.documentElement.scrollHeight")
    metrics = {"width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False}
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)  # the window is capped at the screen
    wait_until(browser, lambda d: d.execute_script("return document.readyState") == "complete")
    assert browser.save_screenshot(SCREENSHOT)
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    # The selector switches to another workspace.
    WorkspaceFactory(slug="zz-empty", name="Empty workspace")
    open_page(browser, live_server.url, PAGE)
    select_by_value(browser, "#id_workspace", "zz-empty")
    submit(browser, "#workspace-form button[type=submit]")
    assert "workspace=zz-empty" in browser.current_url
    assert "No generations yet." in browser.page_source
