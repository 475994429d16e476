"""The template playground in the admin, against a local fake OpenAI-compatible server."""

import tempfile
import time
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from selenium.webdriver.common.by import By

from generation.models import PlaygroundRun
from profiles.services import profile_create
from templates_app.services import template_create, template_update
from tests.factories import WorkspaceFactory
from tests.support.browser import admin_login, open_page, select_by_value, submit, wait_for
from tests.support.fake_llm import FakeLLM

BODY_V1 = "Explain {{ topic }} to a {{ difficulty }} student who likes {{ learning_style }} material."
BODY_V2 = "In three steps, explain {{ topic }} for a {{ difficulty }} learner."
PASSWORD = "correct-horse-battery-staple"  # a throwaway test credential


@pytest.fixture
def fake(settings):
    server = FakeLLM(reply=lambda body: f"ECHO[{body['messages'][-1]['content'][:40]}]")
    settings.LLM_BASE_URL, settings.LLM_API_KEY, settings.LLM_MODEL = server.url, "sk-playground-key-1", "fake-model"
    settings.LLM_TIMEOUT = settings.LLM_PLAYGROUND_TIMEOUT = 0.5
    yield server
    server.close()


@pytest.fixture
def lesson(db):
    workspace = WorkspaceFactory()
    template = template_create(workspace=workspace, actor="t", key="lesson", name="Lesson", template=BODY_V1)
    template_update(template, actor="t", template=BODY_V2, publish=False, change_note="steps")
    profile_create(workspace=workspace, user_id="ada", learning_style="visual", difficulty_level="advanced")
    return template


def page(template) -> str:
    return f"/admin/playground/{template.pk}/"


def post(client, template, **fields):
    data = {"a_source": "1", "b_source": "2", "model": "fake-model", "variables": '{"topic": "tides"}', **fields}
    return client.post(page(template), data)


def test_without_an_endpoint_the_page_says_what_to_set_and_renders_only(admin_client, lesson, settings):
    settings.LLM_BASE_URL = ""
    html = admin_client.get(page(lesson)).content.decode()
    assert "LLM_BASE_URL" in html and "LLM_API_KEY" in html and 'id="playground-run"' in html and "disabled" in html
    response = post(admin_client, lesson, profile="ada", action="run")
    assert response.status_code == 200
    assert "Explain tides to a advanced student who likes visual material." in response.content.decode()
    assert "No LLM endpoint is configured" in response.content.decode()
    assert not PlaygroundRun.objects.exists()


def test_render_with_a_profile_then_run_two_versions_side_by_side(admin_client, lesson, fake):
    response = post(admin_client, lesson, profile="ada", compare="on", action="run", temperature="0.3")
    html = response.content.decode()
    assert "Explain tides to a advanced student who likes visual material." in html
    assert "In three steps, explain tides for a advanced learner." in html
    assert html.count("120 + 45 = 165 tokens") == 2 and "ECHO[Explain tides" in html and "ECHO[In three steps" in html
    assert [request["body"]["temperature"] for request in fake.requests] == [0.3, 0.3]
    runs = list(PlaygroundRun.objects.order_by("id"))
    assert [run.version.number for run in runs] == [1, 2]
    assert {(run.created_by, run.model, run.profile_user_id, run.total_tokens) for run in runs} == {
        ("admin:admin", "fake-model", "ada", 165)
    }
    assert runs[0].output_excerpt.startswith("ECHO[Explain tides") and runs[0].latency_ms is not None
    listed = admin_client.get(page(lesson)).content.decode()
    assert listed.count('class="pc-run"') == 2 and "sk-playground-key-1" not in listed
    records = admin_client.get("/admin/generation/playgroundrun/").content.decode()
    assert records.count("fake-model") >= 2 and "admin:admin" in records


def test_unsaved_bodies_missing_variables_and_upstream_errors(admin_client, lesson, fake):
    html = post(admin_client, lesson, a_source="body", a_body="Hi {{ topic ", action="run").content.decode()
    assert "Syntax error" in html and not PlaygroundRun.objects.exists()
    html = post(admin_client, lesson, a_source="body", a_body="Hi {{ name }}", variables="{}").content.decode()
    assert "Missing variables" in html and "<code class=\"pc-chip\">name</code>" in html
    html = post(admin_client, lesson, a_source="body", a_body="", variables="{}").content.decode()
    assert "Type the body to try" in html
    fake.mode = "error"
    html = post(admin_client, lesson, a_source="body", a_body="Hi {{ topic }}", action="run").content.decode()
    assert "bad_gateway: The LLM endpoint answered 500." in html
    (run,) = PlaygroundRun.objects.all()
    assert run.version is None and run.error.startswith("bad_gateway") and run.prompt_excerpt == "Hi tides"


def test_a_hanging_model_is_a_timeout_for_both_sides_waited_for_at_once(admin_client, lesson, fake):
    fake.mode, fake.delay = "hang", 1.5
    started = time.monotonic()
    html = post(admin_client, lesson, profile="ada", compare="on", action="run").content.decode()
    assert time.monotonic() - started < 1.4  # two sides, one wait of LLM_PLAYGROUND_TIMEOUT (0.5 s)
    assert html.count("gateway_timeout: The LLM endpoint did not answer within 0.5 s.") >= 2
    assert PlaygroundRun.objects.filter(error__startswith="gateway_timeout").count() == 2


def test_running_needs_the_change_permission(client, lesson, fake, django_user_model):
    viewer = django_user_model.objects.create_user("viewer", password=PASSWORD, is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_prompttemplate"))
    client.force_login(viewer)
    assert 'id="playground-run"' not in client.get(page(lesson)).content.decode()
    assert post(client, lesson, action="render").status_code == 200
    assert post(client, lesson, action="run").status_code == 403
    assert not fake.requests


@pytest.mark.browser
def test_the_playground_in_a_browser_renders_runs_and_compares(
    transactional_db, live_server, browser, django_user_model, settings
):
    server = FakeLLM(reply=lambda body: f"Model says: {body['messages'][-1]['content'][:30]}")
    settings.LLM_BASE_URL, settings.LLM_API_KEY, settings.LLM_PLAYGROUND_TIMEOUT = server.url, "sk-browser-key-1", 5.0
    try:
        workspace = WorkspaceFactory()
        template = template_create(workspace=workspace, actor="t", key="lesson", name="Lesson", template=BODY_V1)
        template_update(template, actor="t", template=BODY_V2, publish=False, change_note="steps")
        profile_create(workspace=workspace, user_id="ada", learning_style="visual", difficulty_level="advanced")
        django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
        admin_login(browser, live_server.url, "root", PASSWORD)
        open_page(browser, live_server.url, f"/admin/templates_app/prompttemplate/{template.pk}/change/")
        wait_for(browser, "a#tool-playground").click()
        wait_for(browser, "#playground-form")
        select_by_value(browser, "select#id_profile", "ada")
        field = wait_for(browser, "textarea#id_variables")
        field.clear()
        field.send_keys('{"topic": "tides"}')
        submit(browser, "#playground-render")
        prompt = wait_for(browser, "#result-1 .pc-prompt").text
        assert prompt == "Explain tides to a advanced student who likes visual material."
        assert not server.requests
        browser.find_element(By.ID, "id_compare").click()
        select_by_value(browser, "select#id_b_source", "2")
        submit(browser, "#playground-run")
        outputs = [element.text for element in browser.find_elements(By.CSS_SELECTOR, ".pc-model-output")]
        assert len(outputs) == 2
        assert outputs[0].startswith("Model says: Explain tides") and outputs[1].startswith("Model says: In three")
        assert len(browser.find_elements(By.CSS_SELECTOR, ".pc-tokens")) == 2
        a, b = (browser.find_element(By.ID, f"result-{n}").rect for n in (1, 2))
        assert abs(a["y"] - b["y"]) < 2 and a["x"] + a["width"] <= b["x"]  # side by side
        assert len(browser.find_elements(By.CSS_SELECTOR, "tr.pc-run")) == 2
        browser.set_window_size(1400, 1600)
        shot = Path(tempfile.mkdtemp(prefix="pc-playground-")) / "playground-compare.png"
        assert browser.save_screenshot(str(shot))
        assert browser.execute_script("return document.documentElement.scrollWidth") <= 1400
    finally:
        server.close()
