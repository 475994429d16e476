"""Profiles in the admin: saves and deletes go through the services and drop the cached variables."""

import pytest

from profiles.models import UserProfile
from profiles.selectors import profile_variables
from profiles.services import profile_create, profile_record_session

CHANGELIST = "/admin/profiles/userprofile/"


def form_data(**overrides) -> dict:
    data = {
        "username": "",
        "email": "",
        "learning_style": "visual",
        "difficulty_level": "intermediate",
        "language_preference": "en",
        "content_length_preference": "medium",
        "example_preference": "practical",
        "format_preference": "structured",
        "preferred_subjects": "[]",
        "preferred_time_of_day": "",
        "attributes": "{}",
    }
    return {**data, **overrides}


@pytest.fixture
def profile(workspace):
    return profile_create(workspace=workspace, user_id="jane@example.com", username="Jane")


def test_the_changelist_lists_searches_and_filters(admin_client, profile):
    assert admin_client.get(CHANGELIST).status_code == 200
    page = admin_client.get(CHANGELIST, {"q": "jane", "learning_style": "visual"})
    assert page.status_code == 200 and b"jane@example.com" in page.content
    assert b"jane@example.com" not in admin_client.get(CHANGELIST, {"q": "nobody"}).content


def test_saving_a_change_drops_the_cached_variables(admin_client, profile, workspace):
    profile_record_session(workspace=workspace, user_id=profile.user_id, duration_seconds=10)
    assert profile_variables(workspace_id=workspace.pk, user_id=profile.user_id)["learning_style"] == "visual"
    response = admin_client.post(
        f"{CHANGELIST}{profile.pk}/change/",
        form_data(username="Jane", learning_style="auditory", attributes='{"tone": "warm"}'),
    )
    assert response.status_code == 302, response.content
    variables = profile_variables(workspace_id=workspace.pk, user_id=profile.user_id)
    assert variables["learning_style"] == "auditory" and variables["tone"] == "warm"
    profile.refresh_from_db()
    assert (profile.user_id, profile.total_sessions) == ("jane@example.com", 1)  # untouched by the form


def test_adding_a_profile_drops_the_cached_defaults(admin_client, workspace):
    assert profile_variables(workspace_id=workspace.pk, user_id="new")["difficulty_level"] == "intermediate"
    response = admin_client.post(
        f"{CHANGELIST}add/", form_data(workspace=workspace.pk, user_id="new", difficulty_level="advanced")
    )
    assert response.status_code == 302, response.content
    assert profile_variables(workspace_id=workspace.pk, user_id="new")["difficulty_level"] == "advanced"


def test_a_bad_attribute_key_is_a_form_error(admin_client, profile):
    response = admin_client.post(f"{CHANGELIST}{profile.pk}/change/", form_data(attributes='{"bad key": 1}'))
    assert response.status_code == 200 and b"Keys must be identifiers" in response.content


@pytest.mark.parametrize("how", ["changelist action", "delete page"])
def test_deleting_drops_the_cached_variables(admin_client, workspace, how):
    profile = profile_create(workspace=workspace, user_id="u1", learning_style="reading")
    assert profile_variables(workspace_id=workspace.pk, user_id="u1")["learning_style"] == "reading"
    if how == "delete page":
        response = admin_client.post(f"{CHANGELIST}{profile.pk}/delete/", {"post": "yes"})
    else:
        response = admin_client.post(
            CHANGELIST, {"action": "delete_selected", "_selected_action": [profile.pk], "post": "yes"}
        )
    assert response.status_code == 302
    assert not UserProfile.objects.exists()
    assert profile_variables(workspace_id=workspace.pk, user_id="u1")["learning_style"] == "visual"
