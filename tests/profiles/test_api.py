"""The Profiles section of the API contract, endpoint by endpoint."""

from datetime import datetime
from urllib.parse import quote

import pytest
from rest_framework.test import APIClient

from profiles.models import ATTRIBUTES_MAX_BYTES, UserProfile
from tests.support.api import code_of

P = "/api/v1/profiles"
FULL = {
    "user_id": "jane.doe+1@example.com",
    "username": "Jane Doe",
    "email": "jane@example.com",
    "learning_style": "kinesthetic",
    "preferred_subjects": ["physics", "music"],
    "difficulty_level": "advanced",
    "language_preference": "pt-BR",
    "content_length_preference": "long",
    "example_preference": "mixed",
    "format_preference": "technical",
    "attributes": {"grade": 11, "school": {"name": "Lycée"}, "goals": ["exam"]},
    "preferred_time_of_day": "evening",
}
DEFAULTS = {
    "username": "",
    "email": "",
    "learning_style": "visual",
    "preferred_subjects": [],
    "difficulty_level": "intermediate",
    "language_preference": "en",
    "content_length_preference": "medium",
    "example_preference": "practical",
    "format_preference": "structured",
    "attributes": {},
    "preferred_time_of_day": None,
}
COUNTERS = {"total_sessions": 0, "average_session_duration": 0.0, "last_active": None}
CHOICE_FIELDS = [
    "learning_style",
    "difficulty_level",
    "content_length_preference",
    "example_preference",
    "format_preference",
]


def url(user_id: str, suffix: str = "") -> str:
    return f"{P}/{quote(user_id, safe='@')}{suffix}"


def without_timestamps(body: dict) -> dict:
    for name in ("created_at", "updated_at"):
        datetime.fromisoformat(body.pop(name))  # present, ISO 8601
    return body


def create(client, **fields) -> dict:
    response = client.post(P, {"user_id": "u1", **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def other_workspace_client(make_client):
    return make_client(scope="admin")  # a key of a new, different workspace


def assert_validation_error(response, *fields: str) -> None:
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert sorted(error["details"]) == sorted(fields)
    assert all(isinstance(messages, list) and messages for messages in error["details"].values())


# --- create --------------------------------------------------------------------------------------
def test_create_returns_201_and_the_full_representation(writer):
    response = writer.post(P, FULL, format="json")
    assert response.status_code == 201
    assert without_timestamps(response.json()) == {**FULL, **COUNTERS}


def test_create_with_only_a_user_id_gets_the_defaults(writer):
    assert without_timestamps(create(writer, user_id="minimal")) == {"user_id": "minimal", **DEFAULTS, **COUNTERS}


def test_session_statistics_cannot_be_set_by_a_client(writer):
    body = create(writer, total_sessions=99, average_session_duration=5.0, last_active="2024-01-01T00:00:00Z")
    assert (body["total_sessions"], body["average_session_duration"], body["last_active"]) == (0, 0.0, None)


def test_a_duplicate_user_id_is_409_conflict(writer):
    create(writer)
    response = writer.post(P, {"user_id": "u1", "username": "again"}, format="json")
    assert response.status_code == 409 and code_of(response) == "conflict"
    assert UserProfile.objects.get(user_id="u1").username == ""


def test_the_same_user_id_may_exist_in_another_workspace(writer, other_workspace_client):
    create(writer)
    assert other_workspace_client.post(P, {"user_id": "u1"}, format="json").status_code == 201


@pytest.mark.parametrize("field", CHOICE_FIELDS)
def test_a_bad_choice_value_is_400_naming_the_field(writer, field):
    response = writer.post(P, {"user_id": "u1", field: "sometimes"}, format="json")
    assert_validation_error(response, field)
    assert field in response.json()["error"]["message"]
    assert not UserProfile.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("language_preference", "english please"),
        ("email", "not-an-email"),
        ("preferred_subjects", "physics"),
        ("preferred_subjects", [1, {"a": 1}]),
        ("preferred_subjects", [""]),
        ("username", "x" * 201),
        ("preferred_time_of_day", ["evening"]),
    ],
)
def test_other_bad_field_values_are_400_naming_the_field(writer, field, value):
    assert_validation_error(writer.post(P, {"user_id": "u1", field: value}, format="json"), field)


@pytest.mark.parametrize("user_id", [None, "", "a/b", ".", "..", "x" * 201, "tab\there"])
def test_a_missing_or_unaddressable_user_id_is_400(writer, user_id):
    body = {} if user_id is None else {"user_id": user_id}
    assert_validation_error(writer.post(P, body, format="json"), "user_id")


@pytest.mark.parametrize(
    "attributes",
    [
        ["not", "an", "object"],
        "text",
        42,
        None,
        {"1st": "x"},
        {"has-dash": "x"},
        {"with space": 1},
        {"newline\n": 1},
        {"": 1},
        {"ok": 1, "x" * 101: 1},
        {"blob": "x" * ATTRIBUTES_MAX_BYTES},
    ],
    ids=[
        "list",
        "string",
        "number",
        "null",
        "digit-key",
        "dash-key",
        "space-key",
        "newline-key",
        "empty-key",
        "long-key",
        "too-big",
    ],
)
def test_bad_attributes_are_400(writer, attributes):
    assert_validation_error(writer.post(P, {"user_id": "u1", "attributes": attributes}, format="json"), "attributes")


def test_attributes_just_under_the_size_cap_are_accepted(writer):
    blob = "x" * (ATTRIBUTES_MAX_BYTES - len('{"blob":""}'))
    assert create(writer, attributes={"blob": blob})["attributes"] == {"blob": blob}


def test_a_nul_byte_in_a_profile_field_is_refused_by_the_json_parser(writer):
    response = writer.post(P, b'{"user_id": "u1", "username": "Ja\\u0000ne"}', content_type="application/json")
    assert response.status_code == 400 and code_of(response) == "validation_error"
    assert not UserProfile.objects.exists()


# --- read, update, delete ------------------------------------------------------------------------
@pytest.mark.parametrize("user_id", ["jane.doe+1@example.com", "auth0|5f:ab-cd", "ünïcode_ü", "with space", "100%"])
def test_a_profile_is_read_by_its_user_id_whatever_characters_it_holds(writer, reader, user_id):
    created = create(writer, user_id=user_id)
    response = reader.get(url(user_id))
    assert response.status_code == 200
    assert response.json() == created


def test_patch_changes_only_the_fields_sent(writer):
    created = create(writer, **{key: value for key, value in FULL.items() if key != "user_id"})
    response = writer.patch(url("u1"), {"learning_style": "auditory", "attributes": {"grade": 12}}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["learning_style"] == "auditory" and body["attributes"] == {"grade": 12}
    unchanged = {key: value for key, value in created.items() if key not in {"learning_style", "attributes"}}
    assert {key: body[key] for key in unchanged if key != "updated_at"} == {
        key: value for key, value in unchanged.items() if key != "updated_at"
    }
    assert body["updated_at"] >= created["updated_at"]
    assert writer.get(url("u1")).json() == body


def test_put_updates_the_profile_and_takes_the_user_id_from_the_url(writer):
    create(writer)
    replacement = {key: value for key, value in FULL.items() if key != "user_id"}
    response = writer.put(url("u1"), replacement, format="json")
    assert response.status_code == 200
    assert without_timestamps(response.json()) == {**FULL, "user_id": "u1", **COUNTERS}
    # Repeating the URL's user_id in the body is fine.
    assert writer.put(url("u1"), {**replacement, "user_id": "u1"}, format="json").status_code == 200


@pytest.mark.parametrize("method", ["put", "patch"])
def test_the_user_id_cannot_be_changed(writer, method):
    create(writer)
    response = getattr(writer, method)(url("u1"), {"user_id": "u2", "username": "x"}, format="json")
    assert_validation_error(response, "user_id")
    assert UserProfile.objects.get().user_id == "u1" and UserProfile.objects.get().username == ""


@pytest.mark.parametrize("method", ["put", "patch"])
def test_an_update_with_a_bad_choice_is_400_and_changes_nothing(writer, method):
    create(writer)
    response = getattr(writer, method)(url("u1"), {"difficulty_level": "expert", "username": "x"}, format="json")
    assert_validation_error(response, "difficulty_level")
    assert UserProfile.objects.get().username == ""


def test_null_or_blank_clears_the_preferred_time_of_day(writer):
    create(writer, preferred_time_of_day="morning")
    assert writer.patch(url("u1"), {"preferred_time_of_day": ""}, format="json").json()["preferred_time_of_day"] is None
    writer.patch(url("u1"), {"preferred_time_of_day": "noon"}, format="json")
    assert (
        writer.patch(url("u1"), {"preferred_time_of_day": None}, format="json").json()["preferred_time_of_day"] is None
    )


def test_delete_answers_200_with_the_contract_body_and_the_profile_is_gone(writer):
    create(writer)
    response = writer.delete(url("u1"))
    assert response.status_code == 200
    assert response.json() == {"success": True, "message": "Profile deleted successfully"}
    assert writer.get(url("u1")).status_code == 404
    assert writer.post(P, {"user_id": "u1"}, format="json").status_code == 201  # the id is free again


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"username": "x"}),
        ("put", "", {"username": "x"}),
        ("delete", "", None),
        ("post", "/sessions", {"duration_seconds": 5}),
    ],
)
def test_an_unknown_user_is_404_not_found(writer, method, suffix, body):
    response = getattr(writer, method)(url("nobody", suffix), body, format="json")
    assert response.status_code == 404 and code_of(response) == "not_found"


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("patch", "", {"username": "x"}),
        ("put", "", {"username": "x"}),
        ("delete", "", None),
        ("post", "/sessions", {"duration_seconds": 5}),
    ],
)
def test_another_workspaces_profile_is_404(writer, other_workspace_client, method, suffix, body):
    create(writer, username="mine")
    response = getattr(other_workspace_client, method)(url("u1", suffix), body, format="json")
    assert response.status_code == 404 and code_of(response) == "not_found"
    assert other_workspace_client.get(P).json()["count"] == 0
    profile = UserProfile.objects.get()
    assert (profile.username, profile.total_sessions) == ("mine", 0)


# --- list ----------------------------------------------------------------------------------------
def test_the_list_is_paginated_and_ordered_by_user_id(writer, reader):
    for user_id in ["carol", "alice", "bob"]:
        create(writer, user_id=user_id)
    body = reader.get(P).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 3 and body["next"] is None and body["previous"] is None
    assert [profile["user_id"] for profile in body["results"]] == ["alice", "bob", "carol"]
    assert body["results"][0] == reader.get(url("alice")).json()

    page = reader.get(P, {"page_size": 2, "page": 2}).json()
    assert page["count"] == 3 and page["next"] is None and page["previous"] is not None
    assert [profile["user_id"] for profile in page["results"]] == ["carol"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"learning_style": "auditory"}, ["a", "c"]),
        ({"difficulty_level": "beginner"}, ["b", "c"]),
        ({"language_preference": "de"}, ["c"]),
        ({"learning_style": "auditory", "difficulty_level": "beginner"}, ["c"]),
        ({"learning_style": "reading"}, []),
    ],
)
def test_the_list_filters(writer, query, expected):
    create(writer, user_id="a", learning_style="auditory")
    create(writer, user_id="b", difficulty_level="beginner")
    create(writer, user_id="c", learning_style="auditory", difficulty_level="beginner", language_preference="de")
    body = writer.get(P, query).json()
    assert [profile["user_id"] for profile in body["results"]] == expected and body["count"] == len(expected)


def test_an_unknown_filter_choice_is_400(writer):
    response = writer.get(P, {"learning_style": "telepathic"})
    assert_validation_error(response, "learning_style")


# --- sessions ------------------------------------------------------------------------------------
def test_sessions_count_average_and_mark_the_user_active(writer):
    create(writer)
    first = writer.post(url("u1", "/sessions"), {"duration_seconds": 10}, format="json")
    assert first.status_code == 200
    assert (first.json()["total_sessions"], first.json()["average_session_duration"]) == (1, 10.0)
    second = writer.post(url("u1", "/sessions"), {"duration_seconds": 20}, format="json").json()
    assert second["total_sessions"] == 2 and second["average_session_duration"] == 15.0
    assert datetime.fromisoformat(second["last_active"]) >= datetime.fromisoformat(first.json()["last_active"])
    assert writer.get(url("u1")).json() == second


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"duration_seconds": -1},
        {"duration_seconds": "ten"},
        {"duration_seconds": True},
        {"duration_seconds": None},
        {"duration_seconds": 1e12},
    ],
)
def test_a_bad_session_duration_is_400_and_counts_nothing(writer, body):
    create(writer)
    assert_validation_error(writer.post(url("u1", "/sessions"), body, format="json"), "duration_seconds")
    assert UserProfile.objects.get().total_sessions == 0


def test_a_session_of_zero_seconds_counts(writer):
    create(writer)
    body = writer.post(url("u1", "/sessions"), {"duration_seconds": 0}, format="json").json()
    assert (body["total_sessions"], body["average_session_duration"]) == (1, 0.0)


# --- auth and scopes -----------------------------------------------------------------------------
def test_a_read_key_reads_but_cannot_write(writer, reader):
    create(writer)
    assert reader.get(P).status_code == 200 and reader.get(url("u1")).status_code == 200
    attempts = [
        reader.post(P, {"user_id": "u2"}, format="json"),
        reader.patch(url("u1"), {"username": "x"}, format="json"),
        reader.put(url("u1"), {"username": "x"}, format="json"),
        reader.delete(url("u1")),
        reader.post(url("u1", "/sessions"), {"duration_seconds": 1}, format="json"),
    ]
    assert [(response.status_code, code_of(response)) for response in attempts] == [(403, "permission_denied")] * 5
    assert UserProfile.objects.get().username == "" and UserProfile.objects.count() == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", P), ("post", P), ("get", f"{P}/u1"), ("delete", f"{P}/u1"), ("post", f"{P}/u1/sessions")],
)
def test_no_key_is_401(db, method, path):
    response = getattr(APIClient(), method)(path, {}, format="json")
    assert response.status_code == 401 and code_of(response) == "authentication_failed"


def test_paths_work_with_a_trailing_slash_too(writer):
    create(writer)
    assert writer.get(f"{P}/").status_code == 200 and writer.get(f"{P}/u1/").status_code == 200


def test_a_warm_read_comes_from_the_cache_and_every_write_drops_it(writer, django_assert_num_queries):
    create(writer, user_id="cached", learning_style="visual")
    first = writer.get(url("cached")).json()
    with django_assert_num_queries(0):  # the key and the representation both come from the cache
        assert writer.get(url("cached")).json() == first
    writer.patch(url("cached"), {"learning_style": "auditory"}, format="json")
    assert writer.get(url("cached")).json()["learning_style"] == "auditory"
    assert writer.post(url("cached", "/sessions"), {"duration_seconds": 60}, format="json").status_code == 200
    assert writer.get(url("cached")).json()["total_sessions"] == 1
    writer.delete(url("cached"))
    assert code_of(writer.get(url("cached"))) == "not_found"


def test_sessions_of_tiny_durations_never_underflow_the_running_mean(writer, workspace):
    """The mean of durations such as 1e-320 s underflowed PostgreSQL's double precision: a 500. Durations count
    to the millisecond."""
    writer.post("/api/v1/profiles", {"user_id": "tiny"}, format="json")
    for duration in (1e-320, 0.0, 5e-324, 0.0004, 0.0016):
        response = writer.post("/api/v1/profiles/tiny/sessions", {"duration_seconds": duration}, format="json")
        assert response.status_code == 200, response.content
    body = response.json()
    assert body["total_sessions"] == 5 and body["average_session_duration"] == pytest.approx(0.0004)


def test_the_path_user_id_is_trimmed_as_a_bodys_is(writer):
    """A profile created with `" u5 "` is `u5`, and generate found it by either; the path did not."""
    assert writer.post("/api/v1/profiles", {"user_id": " u5 "}, format="json").json()["user_id"] == "u5"
    padded = "/api/v1/profiles/%20u5%20"
    assert writer.get(padded).json()["user_id"] == "u5"
    assert writer.patch(padded, {"learning_style": "auditory"}, format="json").json()["learning_style"] == "auditory"
    assert writer.post(f"{padded}/sessions", {"duration_seconds": 5}, format="json").json()["total_sessions"] == 1
    assert writer.delete(padded).status_code == 200
    assert writer.get("/api/v1/profiles/u5").status_code == 404
