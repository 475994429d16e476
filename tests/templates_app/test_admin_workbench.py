"""The authors' admin, rough edges filed off: the body's variables as typed, an empty preview that lists what is
missing, preview as a user, labels other than production, the language in the versions list, formatted rates."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from abtests.services import ab_test_create
from profiles.services import profile_create
from promptconfig.events.models import Event
from templates_app.models import TemplateLabel
from templates_app.services import template_create, template_update
from tests.factories import WorkspaceFactory

BODY = "Explain {{ topic }} to a {{ difficulty }} student who likes {{ learning_style }}."


@pytest.fixture
def lesson(db):
    workspace = WorkspaceFactory()
    template = template_create(workspace=workspace, actor="t", key="lesson", name="Lesson", template=BODY)
    template_update(template, actor="t", template=BODY + " Be brief.", publish=False, change_note="brief")
    profile_create(workspace=workspace, user_id="ada", learning_style="visual", difficulty_level="advanced")
    return template


def test_the_editor_asks_which_variables_the_body_uses(admin_client, lesson):
    url = reverse("admin:templates_app_prompttemplate_variables")
    answer = admin_client.post(url, {"body": "{{ topic }} {% include 'intro' %} {{ tone }}"}).json()
    assert answer == {
        "variables": ["tone", "topic"],
        "includes": ["intro"],
        "error": "",
        "profile_variables": [],
    }
    assert admin_client.post(url, {"body": "{{ difficulty }}"}).json()["profile_variables"] == ["difficulty"]
    assert "Syntax error" in admin_client.post(url, {"body": "{{ topic "}).json()["error"]
    assert admin_client.get(url).status_code == 405
    page = admin_client.get(reverse("admin:templates_app_prompttemplate_change", args=[lesson.pk])).content.decode()
    assert 'id="pc-body-variables"' in page and "templates_app/body.js" in page


def test_preview_starts_empty_lists_the_missing_variables_and_previews_as_a_user(admin_client, lesson):
    url = reverse("admin:templates_app_prompttemplate_preview", args=[lesson.pk])
    page = admin_client.get(url).content.decode()
    assert '<ul id="preview-missing">' in page and "<code>topic</code>" in page
    assert "&quot;topic&quot;: &quot;&quot;" not in page  # no skeleton of blanks
    assert '<option value="ada">ada</option>' in page
    response = admin_client.post(url, {"version": "1", "profile": "ada", "variables": '{"topic": "tides"}'})
    assert "Explain tides to a advanced student who likes visual." in response.content.decode()
    response = admin_client.post(url, {"version": "1", "profile": "", "variables": '{"topic": "tides"}'})
    assert '<ul id="preview-missing">' in response.content.decode()


def test_labels_other_than_production_are_set_and_removed_on_the_template_page(admin_client, lesson):
    change = reverse("admin:templates_app_prompttemplate_change", args=[lesson.pk])
    url = reverse("admin:templates_app_prompttemplate_label", args=[lesson.pk])
    assert 'id="label-form"' in admin_client.get(change).content.decode()
    assert admin_client.post(url, {"label-name": "staging", "label-number": "2"}).status_code == 302
    assert TemplateLabel.objects.get(template=lesson, name="staging").version.number == 2
    assert Event.objects.filter(
        type="template.label_moved", subject_pk=lesson.pk, data__label="staging", actor__startswith="admin:"
    ).exists()
    lesson.refresh_from_db()
    assert lesson.served_version.number == 1  # production did not move
    page = admin_client.get(change).content.decode()
    assert 'id="remove-label-staging"' in page
    admin_client.post(url, {"label-name": "production", "label-number": "2"}, follow=True)
    lesson.refresh_from_db()
    assert lesson.served_version.number == 1
    admin_client.post(url, {"remove": "staging"})
    assert not TemplateLabel.objects.filter(template=lesson, name="staging").exists()


def test_moving_labels_needs_the_publish_permission(client, lesson, django_user_model):
    author = django_user_model.objects.create_user("author", password="pw", is_staff=True)
    author.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_prompttemplate", "change_prompttemplate"])
    )
    client.force_login(author)
    url = reverse("admin:templates_app_prompttemplate_label", args=[lesson.pk])
    assert client.post(url, {"label-name": "staging", "label-number": "2"}).status_code == 403
    page = client.get(reverse("admin:templates_app_prompttemplate_change", args=[lesson.pk])).content.decode()
    assert "Moving labels needs the publish permission." in page


def test_lists_show_the_language_formatted_rates_and_the_ab_results_link(admin_client, lesson):
    template_create(workspace=lesson.workspace, actor="t", key="lesson", language="de", name="L", template="Hallo")
    versions = admin_client.get(reverse("admin:templates_app_templateversion_changelist")).content.decode()
    assert '<td class="field-language">de</td>' in versions and '<td class="field-language">en</td>' in versions
    type(lesson).objects.filter(pk=lesson.pk).update(
        usage_count=9, success_rate=0.7782, rating_count=3, average_rating=4.3333
    )
    page = admin_client.get(reverse("admin:templates_app_prompttemplate_change", args=[lesson.pk])).content.decode()
    assert "77.8%" in page and "4.33 / 5" in page and "0.7782" not in page
    template_create(workspace=lesson.workspace, actor="t", key="other", name="Other", template="Hi {{ topic }}")
    test = ab_test_create(
        workspace=lesson.workspace,
        actor="t",
        name="T",
        template_a="lesson",
        template_b="other",
        traffic_split=0.3,
        target_metrics=["effectiveness"],
    )
    change = admin_client.get(reverse("admin:abtests_abtest_change", args=[test.pk])).content.decode()
    assert reverse("admin:abtests_abtest_results", args=[test.pk]) in change and 'id="tool-results"' in change
    listing = admin_client.get(reverse("admin:abtests_abtest_changelist")).content.decode()
    assert "30 / 70" in listing and "A: lesson (en)" in listing
