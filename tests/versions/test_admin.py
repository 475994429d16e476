"""Provider versions in the admin: read-only, per template, drift highlighted."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from templates_app.services import template_create
from tests.support.browser import admin_login, open_page, wait_for
from versions.models import ProviderVersion
from versions.services import version_record

ADMIN_USERNAME, ADMIN_PASSWORD = "root", "correct-horse-battery-staple"  # throwaway test credentials


@pytest.fixture
def drifted(workspace):
    template = template_create(workspace=workspace, actor="t", key="lesson", name="Lesson", template="{{ topic }}")
    template = type(template).objects.select_related("workspace").get(pk=template.pk)
    start = timezone.now() - timedelta(hours=3)
    version_record(template=template, provider="openai", model_id="gpt-4o", version_key="fp_old", now=start)
    version_record(
        template=template, provider="openai", model_id="gpt-4o", version_key="fp_new", now=start + timedelta(hours=1)
    )
    version_record(template=template, provider="anthropic", model_id="claude", version_key="claude", now=start)
    return template


@pytest.fixture
def staff(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("staff", "s@example.com", "x"))
    return client


def test_the_list_is_read_only_and_marks_drift(staff, drifted):
    page = staff.get(reverse("admin:versions_providerversion_changelist")).content.decode()
    assert page.count("drift: current, 2 keys seen") == 1 and page.count("drift: replaced") == 1
    assert "fp_old" in page and "fp_new" in page and "claude" in page
    assert staff.get(reverse("admin:versions_providerversion_add")).status_code == 403
    record = ProviderVersion.objects.get(provider_version_key="fp_new")
    assert (
        staff.post(reverse("admin:versions_providerversion_delete", args=[record.pk]), {"post": "yes"}).status_code
        == 403
    )
    assert ProviderVersion.objects.count() == 3


def test_the_template_page_shows_its_versions_and_the_drift_event(staff, drifted):
    page = staff.get(reverse("admin:templates_app_prompttemplate_change", args=[drifted.pk])).content.decode()
    assert "Provider model versions" in page and "drift: current, 2 keys seen" in page
    assert "model_drift" in page  # in the event history


@pytest.mark.browser
def test_a_staff_member_sees_the_drift_in_a_browser(transactional_db, live_server, browser, django_user_model, drifted):
    django_user_model.objects.create_superuser(ADMIN_USERNAME, "root@example.com", ADMIN_PASSWORD)
    admin_login(browser, live_server.url, ADMIN_USERNAME, ADMIN_PASSWORD)
    open_page(browser, live_server.url, reverse("admin:versions_providerversion_changelist"))
    current = wait_for(browser, ".pc-drift-current")
    assert current.text == "drift: current, 2 keys seen"
    assert current.value_of_css_property("background-color") == "rgba(217, 72, 15, 1)"
    assert wait_for(browser, ".pc-drift-replaced").value_of_css_property("text-decoration-line") == "line-through"
    open_page(browser, live_server.url, reverse("admin:templates_app_prompttemplate_change", args=[drifted.pk]))
    assert wait_for(browser, "#provider_versions-group .pc-drift-current").is_displayed()
