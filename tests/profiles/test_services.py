"""Profile services and selectors: the cached prompt variables, session counting, the rules."""

import hashlib
from unittest import mock

import pytest
from django.core.cache import cache
from django.db.models import QuerySet

from profiles.models import UserProfile
from profiles.selectors import profile_get, profile_variables, variables_cache_key
from profiles.services import profile_create, profile_delete, profile_record_session, profile_update
from promptconfig.common.errors import Conflict, NotFound, ValidationFailed
from tests.factories import WorkspaceFactory
from tests.support.concurrency import all_at_once

DEFAULT_VARIABLES = {
    "learning_style": "visual",
    "difficulty_level": "intermediate",
    "language_preference": "en",
    "content_length_preference": "medium",
    "example_preference": "practical",
    "format_preference": "structured",
    "preferred_subjects": [],
}


def variables(workspace, user_id: str = "u1") -> dict:
    return profile_variables(workspace_id=workspace.pk, user_id=user_id)


# --- profile_variables ---------------------------------------------------------------------------
def test_an_unknown_user_gets_the_profile_defaults(workspace):
    assert variables(workspace, "nobody") == DEFAULT_VARIABLES
    assert variables(workspace, "") == DEFAULT_VARIABLES


def test_a_profile_contributes_its_fields_and_every_attribute(workspace):
    profile_create(
        workspace=workspace,
        user_id="u1",
        learning_style="auditory",
        difficulty_level="advanced",
        preferred_subjects=["math"],
        attributes={"grade": 11, "school": {"name": "Lycée"}},
    )
    assert variables(workspace) == {
        **DEFAULT_VARIABLES,
        "learning_style": "auditory",
        "difficulty_level": "advanced",
        "preferred_subjects": ["math"],
        "grade": 11,
        "school": {"name": "Lycée"},
    }


def test_named_fields_win_over_attributes_of_the_same_name(workspace):
    profile_create(
        workspace=workspace,
        user_id="u1",
        learning_style="reading",
        attributes={"learning_style": "telepathic", "preferred_subjects": "all", "tone": "warm"},
    )
    result = variables(workspace)
    assert result["learning_style"] == "reading" and result["preferred_subjects"] == [] and result["tone"] == "warm"


def test_variables_are_per_workspace(workspace):
    profile_create(workspace=workspace, user_id="u1", learning_style="auditory")
    assert variables(WorkspaceFactory(), "u1") == DEFAULT_VARIABLES


def test_variables_are_cached_under_a_hashed_key(workspace):
    user_id = "jane.doe@example.com"
    profile_create(workspace=workspace, user_id=user_id, learning_style="auditory")
    result = variables(workspace, user_id)
    digest = hashlib.sha1(user_id.encode()).hexdigest()
    assert variables_cache_key(workspace.pk, user_id) == f"profiles:{workspace.pk}:{digest}"
    assert cache.get(f"profiles:{workspace.pk}:{digest}") == result


def test_cold_is_one_query_and_warm_is_none(workspace, django_assert_num_queries):
    profile_create(workspace=workspace, user_id="u1", attributes={"grade": 3})
    cache.clear()
    with django_assert_num_queries(1):
        cold = variables(workspace)
    with django_assert_num_queries(0):
        warm = variables(workspace)
    assert cold == warm == {**DEFAULT_VARIABLES, "grade": 3}


def test_an_unknown_user_is_cached_too(workspace, django_assert_num_queries):
    with django_assert_num_queries(1):
        variables(workspace, "nobody")
    with django_assert_num_queries(0):
        assert variables(workspace, "nobody") == DEFAULT_VARIABLES


def test_warm_is_one_cache_round_trip(workspace):
    variables(workspace)
    with mock.patch.object(cache, "get", wraps=cache.get) as get, mock.patch.object(cache, "set") as set_:
        variables(workspace)
    assert get.call_count == 1 and set_.call_count == 0


def test_a_callers_changes_to_the_result_do_not_reach_the_cache(workspace):
    variables(workspace)["preferred_subjects"].append("poison")
    variables(workspace)["learning_style"] = "poison"
    assert variables(workspace) == DEFAULT_VARIABLES


def test_creating_a_profile_drops_the_cached_defaults(workspace):
    assert variables(workspace)["learning_style"] == "visual"
    profile_create(workspace=workspace, user_id="u1", learning_style="kinesthetic")
    assert variables(workspace)["learning_style"] == "kinesthetic"


def test_a_patch_through_the_api_changes_the_cached_variables(make_client, workspace):
    client = make_client(workspace, "write")
    client.post("/api/v1/profiles", {"user_id": "u1", "attributes": {"tone": "warm"}}, format="json")
    assert variables(workspace)["tone"] == "warm"
    client.patch("/api/v1/profiles/u1", {"difficulty_level": "beginner", "attributes": {"tone": "dry"}}, format="json")
    assert variables(workspace) == {**DEFAULT_VARIABLES, "difficulty_level": "beginner", "tone": "dry"}


def test_deleting_a_profile_brings_back_the_defaults(workspace):
    profile = profile_create(workspace=workspace, user_id="u1", learning_style="auditory")
    assert variables(workspace)["learning_style"] == "auditory"
    profile_delete(profile=profile)
    assert variables(workspace) == DEFAULT_VARIABLES


def test_recording_a_session_drops_the_cache_entry(workspace):
    profile_create(workspace=workspace, user_id="u1")
    variables(workspace)
    profile_record_session(workspace=workspace, user_id="u1", duration_seconds=3)
    assert cache.get(variables_cache_key(workspace.pk, "u1")) is None


def test_the_entry_is_dropped_again_after_commit(workspace, django_capture_on_commit_callbacks):
    """A reader that cached the old row between the write and its commit does not keep it."""
    profile = profile_create(workspace=workspace, user_id="u1")
    key = variables_cache_key(workspace.pk, "u1")
    with django_capture_on_commit_callbacks(execute=True):
        profile_update(profile=profile, learning_style="auditory")
        cache.set(key, {"learning_style": "stale"})
    assert cache.get(key) is None
    assert variables(workspace)["learning_style"] == "auditory"


# --- create, update, delete ----------------------------------------------------------------------
def test_create_takes_the_model_defaults(workspace):
    profile = profile_create(workspace=workspace, user_id="u1")
    assert profile_get(workspace=workspace, user_id="u1") == profile
    assert (profile.learning_style, profile.total_sessions, profile.attributes) == ("visual", 0, {})


def test_a_duplicate_is_a_conflict(workspace):
    profile_create(workspace=workspace, user_id="u1")
    with pytest.raises(Conflict):
        profile_create(workspace=workspace, user_id="u1")


def test_a_lost_race_on_create_is_a_conflict_and_the_transaction_survives(workspace):
    profile_create(workspace=workspace, user_id="u1")
    with mock.patch.object(QuerySet, "exists", return_value=False), pytest.raises(Conflict):
        profile_create(workspace=workspace, user_id="u1")  # the insert hits the unique constraint
    assert UserProfile.objects.filter(workspace=workspace).count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [("learning_style", "telepathic"), ("attributes", {"bad key": 1}), ("language_preference", "??")],
)
def test_services_enforce_the_model_rules_whoever_calls(workspace, field, value):
    with pytest.raises(ValidationFailed) as created:
        profile_create(workspace=workspace, user_id="u1", **{field: value})
    assert list(created.value.details) == [field]
    profile = profile_create(workspace=workspace, user_id="u1")
    with pytest.raises(ValidationFailed) as updated:
        profile_update(profile=profile, **{field: value})
    assert list(updated.value.details) == [field]


def test_only_editable_fields_can_be_set(workspace):
    with pytest.raises(TypeError):
        profile_create(workspace=workspace, user_id="u1", total_sessions=5)
    profile = profile_create(workspace=workspace, user_id="u1")
    with pytest.raises(TypeError):
        profile_update(profile=profile, user_id="u2")


def test_an_update_never_writes_back_a_stale_session_count(workspace):
    stale = profile_create(workspace=workspace, user_id="u1")
    profile_record_session(workspace=workspace, user_id="u1", duration_seconds=30)
    profile_update(profile=stale, username="Jane")
    fresh = profile_get(workspace=workspace, user_id="u1")
    assert (fresh.username, fresh.total_sessions, fresh.average_session_duration) == ("Jane", 1, 30.0)


def test_get_of_an_unknown_user_is_not_found(workspace):
    with pytest.raises(NotFound):
        profile_get(workspace=workspace, user_id="nobody")


# --- sessions ------------------------------------------------------------------------------------
def test_sessions_keep_a_running_mean(workspace):
    profile_create(workspace=workspace, user_id="u1")
    for seconds in (10, 20, 60):
        profile = profile_record_session(workspace=workspace, user_id="u1", duration_seconds=seconds)
    assert (profile.total_sessions, profile.average_session_duration) == (3, 30.0)
    assert profile.last_active is not None and profile.updated_at == profile.last_active


@pytest.mark.parametrize("seconds", [-0.5, float("nan"), float("inf")])
def test_a_bad_duration_is_refused(workspace, seconds):
    profile_create(workspace=workspace, user_id="u1")
    with pytest.raises(ValidationFailed):
        profile_record_session(workspace=workspace, user_id="u1", duration_seconds=seconds)


def test_a_session_of_an_unknown_user_is_not_found(workspace):
    with pytest.raises(NotFound):
        profile_record_session(workspace=workspace, user_id="nobody", duration_seconds=1)


@pytest.mark.postgres
def test_concurrent_sessions_are_all_counted(transactional_db):
    workspace = WorkspaceFactory()
    profile_create(workspace=workspace, user_id="u1")
    threads, per_thread = 8, 5

    def record(index: int) -> None:
        for _ in range(per_thread):
            profile_record_session(workspace=workspace, user_id="u1", duration_seconds=index * 10)

    _, errors = all_at_once(threads, record)
    assert errors == []
    profile = profile_get(workspace=workspace, user_id="u1")
    assert profile.total_sessions == threads * per_thread
    assert profile.average_session_duration == pytest.approx(sum(range(threads)) * 10 / threads)
