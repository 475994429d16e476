"""Bulk jobs in the admin: a real browser runs a bulk action and reads the jobs list; the test client covers the
other actions and their refusals."""

import pytest
from django.urls import reverse
from selenium.webdriver.common.by import By

from templates_app.bulk import bulk_job_create
from templates_app.models import BulkJob, PromptTemplate
from templates_app.services import template_create
from tests.factories import WorkspaceFactory
from tests.support.browser import admin_login, admin_messages, admin_run_action, open_page, submit, wait_for

ADMIN_USERNAME = "root"
ADMIN_PASSWORD = "correct-horse-battery-staple"  # a throwaway test credential
CHANGELIST = "/admin/templates_app/prompttemplate/"
JOBS = "/admin/templates_app/bulkjob/"

pytestmark = pytest.mark.usefixtures("eager_tasks")  # tasks run in the request, as without a broker


def seed(workspace, *keys: str) -> None:
    for key in keys:
        template_create(workspace=workspace, actor="t", key=key, name=key.title(), template=f"About {key}.")


@pytest.mark.browser
def test_a_bulk_action_queues_a_job_whose_progress_and_results_the_jobs_list_shows(
    transactional_db, live_server, browser, django_user_model
):
    workspace = WorkspaceFactory()
    seed(workspace, "alpha", "beta", "gamma")
    django_user_model.objects.create_superuser(ADMIN_USERNAME, "root@example.com", ADMIN_PASSWORD)
    admin_login(browser, live_server.url, ADMIN_USERNAME, ADMIN_PASSWORD)

    open_page(browser, live_server.url, CHANGELIST)
    wait_for(browser, "input[name=value]").send_keys("reviewed")
    admin_run_action(browser, "Bulk job: add the tag Value", ["alpha", "gamma"])
    assert any("Queued bulk job" in message for message in admin_messages(browser)), admin_messages(browser)
    tagged = PromptTemplate.objects.filter(workspace=workspace, tags__name="reviewed")
    assert sorted(tagged.values_list("key", flat=True)) == ["alpha", "gamma"]

    open_page(browser, live_server.url, JOBS)
    row = wait_for(browser, "#result_list tbody tr")
    assert "Update Tags" in row.text and "Succeeded" in row.text and "2 / 2" in row.text
    bar = row.find_element(By.CSS_SELECTOR, "progress.pc-progress")
    assert (bar.get_attribute("value"), bar.get_attribute("max")) == ("2", "2")

    submit(browser, "#result_list tbody tr th a")  # the job's page: every item's result
    results = wait_for(browser, "table.pc-bulk-results")
    rows = results.find_elements(By.CSS_SELECTOR, "tbody tr")
    assert [r.text.split()[:4] for r in rows] == [["0", "alpha", "en", "ok"], ["1", "gamma", "en", "ok"]]


def test_lifecycle_and_delete_actions_and_their_refusals(admin_client, workspace, django_capture_on_commit_callbacks):
    seed(workspace, "a", "b")
    a, b = (PromptTemplate.objects.get(workspace=workspace, key=key) for key in "ab")
    changelist = reverse("admin:templates_app_prompttemplate_changelist")

    def act(action: str, value: str = "", *templates) -> list[str]:
        data = {"action": action, "_selected_action": [t.pk for t in templates], "index": 0, "value": value}
        with django_capture_on_commit_callbacks(execute=True):  # the job is queued once committed
            response = admin_client.post(changelist, data, follow=True)
        return [str(message) for message in response.context["messages"]]

    assert "not a status" in act("bulk_set_lifecycle", "gone", a)[0]
    assert "Give the value" in act("bulk_add_tag", "", a)[0]
    assert BulkJob.objects.count() == 0
    assert "Queued bulk job" in act("bulk_set_lifecycle", "deprecated", a, b)[0]
    assert set(PromptTemplate.objects.filter(workspace=workspace).values_list("status", flat=True)) == {"deprecated"}
    act("bulk_add_tag", "x", a)
    assert "Queued bulk job" in act("bulk_remove_tag", "x", a)[0]
    assert not a.tags.exists()
    act("bulk_delete", "", b)
    b.refresh_from_db()
    assert b.deleted_at is not None
    job = BulkJob.objects.filter(operation="delete").get()
    assert job.created_by == "admin:admin" and job.status == "succeeded"
    page = admin_client.get(reverse("admin:templates_app_bulkjob_change", args=[job.pk]))
    assert page.status_code == 200 and b"pc-bulk-results" in page.content
    # A job over a template a running job changes is refused, as through the API.
    stuck = bulk_job_create(workspace=workspace, actor="t", operation="update_tags", items=[{"key": "a", "add": ["y"]}])
    assert "running bulk job" in act("bulk_delete", "", a)[0]
    # A job whose task was lost is queued again from the jobs list, and finishes.
    jobs = reverse("admin:templates_app_bulkjob_changelist")
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(jobs, {"action": "resume", "_selected_action": [stuck.pk, job.pk], "index": 0})
    assert response.status_code == 302
    stuck.refresh_from_db()
    assert stuck.status == "succeeded" and list(a.tags.values_list("name", flat=True)) == ["y"]
