"""The analytics endpoints: summary, per template, usage series; scoping, validation and query counts."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from generation import selectors
from generation.models import Generation
from generation.selectors import UsageQuery, bucket_floor
from templates_app.models import PromptTemplate
from templates_app.services import template_create, template_delete, template_update
from tests.factories import WorkspaceFactory

A = "/api/v1/analytics"
DAY_ONE = datetime(2025, 3, 1, tzinfo=UTC)


def make_template(workspace, key: str, *, language: str = "en", status: str = "published") -> PromptTemplate:
    return template_create(
        workspace=workspace,
        actor="test",
        key=key,
        language=language,
        name=key.title(),
        template="Teach {{ topic }}.",
        status=status,
    )


def generation(
    template: PromptTemplate,
    *,
    at: datetime | None = None,
    version=None,
    cache_hit: bool = False,
    rating: int | None = None,
    effectiveness: float | None = None,
) -> Generation:
    """A stored generation, as the generation service would have recorded it."""
    at = at or timezone.now() - timedelta(minutes=5)
    version = version or template.served_version
    return Generation.objects.create(
        id=uuid.uuid4(),
        workspace=template.workspace,
        template=template,
        version=version,
        template_key=template.key,
        language=template.language,
        user_id="learner",
        variables={"topic": "tides"},
        text="Teach tides.",
        cache_key=f"prompts:{template.workspace_id}:{uuid.uuid4().hex}",
        cache_hit=cache_hit,
        expires_at=at + timedelta(hours=1),
        created_at=at,
        rating=rating,
        effectiveness_score=effectiveness,
    )


def error(response) -> dict:
    return response.json()["error"]


@pytest.fixture
def reader(make_client, workspace):
    return make_client(workspace, "read")


# --- summary -------------------------------------------------------------------------------------
def test_summary_of_an_empty_workspace(reader):
    response = reader.get(f"{A}/summary")
    assert response.status_code == 200
    assert response.json() == {
        "templates": {"total": 0, "by_status": {"draft": 0, "published": 0, "deprecated": 0, "archived": 0}},
        "generations": {"total": 0, "last_24h": 0},
        "cache": {"hits": 0, "misses": 0, "hit_rate": None},
        "rating": {"average": None, "count": 0},
        "effectiveness": {"average": None, "count": 0},
        "top_templates": [],
    }


def test_summary_counts_templates_generations_cache_ratings_and_top_templates(reader, workspace):
    now = timezone.now()
    quiz, lesson = make_template(workspace, "quiz"), make_template(workspace, "lesson")
    lesson_de = make_template(workspace, "lesson", language="de")
    make_template(workspace, "draft_one", status="draft")
    make_template(workspace, "gone")
    template_delete(template=PromptTemplate.objects.get(workspace=workspace, key="gone"), actor="test")

    generation(quiz, at=now - timedelta(hours=1), cache_hit=True, rating=5, effectiveness=0.9)
    generation(quiz, at=now - timedelta(hours=23), cache_hit=True, rating=4)
    generation(quiz, at=now - timedelta(hours=25), rating=2, effectiveness=0.5)
    generation(lesson, at=now - timedelta(days=3), cache_hit=True)
    generation(lesson, at=now - timedelta(days=4))
    generation(lesson_de, at=now - timedelta(days=5))

    response = reader.get(f"{A}/summary")
    assert response.status_code == 200
    assert response.json() == {
        "templates": {"total": 4, "by_status": {"draft": 1, "published": 3, "deprecated": 0, "archived": 0}},
        "generations": {"total": 6, "last_24h": 2},
        "cache": {"hits": 3, "misses": 3, "hit_rate": 0.5},
        "rating": {"average": 3.67, "count": 3},
        "effectiveness": {"average": 0.7, "count": 2},
        "top_templates": [
            {"key": "quiz", "language": "en", "name": "Quiz", "generations": 3, "average_rating": 3.67},
            {"key": "lesson", "language": "en", "name": "Lesson", "generations": 2, "average_rating": None},
            {"key": "lesson", "language": "de", "name": "Lesson", "generations": 1, "average_rating": None},
        ],
    }


def test_summary_keeps_deleted_templates_generations_in_totals_but_not_in_top_templates(reader, workspace):
    kept, dropped = make_template(workspace, "kept"), make_template(workspace, "dropped")
    generation(kept)
    generation(dropped)
    generation(dropped)
    template_delete(template=dropped, actor="test")

    body = reader.get(f"{A}/summary").json()
    assert body["templates"]["total"] == 1
    assert body["generations"]["total"] == 3
    assert [row["key"] for row in body["top_templates"]] == ["kept"]


def test_summary_lists_at_most_five_top_templates(reader, workspace):
    for index in range(7):
        template = make_template(workspace, f"t{index}")
        for _ in range(index + 1):
            generation(template)
    body = reader.get(f"{A}/summary/").json()  # with a trailing slash too
    assert [row["key"] for row in body["top_templates"]] == ["t6", "t5", "t4", "t3", "t2"]


# --- one template ------------------------------------------------------------------------------
def test_template_analytics_by_version_and_daily(reader, workspace):
    now = timezone.now()
    today = bucket_floor(now, "day")
    lesson = make_template(workspace, "lesson")
    v1 = lesson.served_version
    template_update(lesson, actor="test", template="Teach {{ topic }} with examples.")
    lesson.refresh_from_db()
    v2 = lesson.served_version
    assert (v1.number, v2.number) == (1, 2)
    lesson_de = make_template(workspace, "lesson", language="de")
    other = make_template(workspace, "other")

    generation(lesson, version=v1, at=today - timedelta(days=2, hours=-1), rating=2, effectiveness=0.4)
    generation(lesson, version=v1, at=today - timedelta(days=2, hours=-2), cache_hit=True)
    # Minutes ago, but today even when the test runs just after midnight.
    just_now = [max(today, now - timedelta(minutes=minutes)) for minutes in (1, 2, 3)]
    generation(lesson, version=v2, at=just_now[0], rating=5, effectiveness=0.9, cache_hit=True)
    generation(lesson, version=v2, at=today - timedelta(days=40), rating=4)  # before the daily window
    generation(lesson_de, at=just_now[1], rating=3)
    generation(other, at=just_now[2])

    response = reader.get(f"{A}/templates/lesson")
    assert response.status_code == 200
    body = response.json()
    daily = body["generations"].pop("daily")
    assert body == {
        "key": "lesson",
        "languages": ["de", "en"],
        "generations": {
            "total": 5,
            "last_24h": 2,
            "by_version": [
                {
                    "language": "de",
                    "version": 1,
                    "generations": 1,
                    "average_rating": 3.0,
                    "average_effectiveness": None,
                },
                {"language": "en", "version": 1, "generations": 2, "average_rating": 2.0, "average_effectiveness": 0.4},
                {"language": "en", "version": 2, "generations": 2, "average_rating": 4.5, "average_effectiveness": 0.9},
            ],
        },
        "rating": {"average": 3.5, "count": 4},
        "effectiveness": {"average": 0.65, "count": 2},
        "cache": {"hits": 2, "misses": 3, "hit_rate": 0.4},
    }
    assert len(daily) == 30
    assert daily[-1] == {"date": today.date().isoformat(), "generations": 2}
    assert daily[-3] == {"date": (today - timedelta(days=2)).date().isoformat(), "generations": 2}
    assert sum(point["generations"] for point in daily) == 4


def test_template_analytics_of_one_language_and_of_an_unused_template(reader, workspace):
    lesson = make_template(workspace, "lesson")
    make_template(workspace, "lesson", language="de")
    generation(lesson, rating=4)

    body = reader.get(f"{A}/templates/lesson?language=de").json()
    assert body["languages"] == ["de"]
    assert body["generations"]["total"] == 0
    assert body["generations"]["by_version"] == [
        {"language": "de", "version": 1, "generations": 0, "average_rating": None, "average_effectiveness": None}
    ]
    assert body["rating"] == {"average": None, "count": 0}
    assert body["cache"] == {"hits": 0, "misses": 0, "hit_rate": None}
    assert {point["generations"] for point in body["generations"]["daily"]} == {0}


@pytest.mark.parametrize("path", ["templates/nope", "templates/lesson?language=fr", "templates/gone"])
def test_template_analytics_of_an_unknown_template_is_404(reader, workspace, path):
    make_template(workspace, "lesson")
    template_delete(template=make_template(workspace, "gone"), actor="test")
    response = reader.get(f"{A}/{path}")
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


# --- usage -------------------------------------------------------------------------------------
@pytest.fixture
def usage_data(workspace):
    quiz, lesson = make_template(workspace, "quiz"), make_template(workspace, "lesson")
    for at, template in [
        (DAY_ONE + timedelta(hours=10, minutes=15), quiz),
        (DAY_ONE + timedelta(hours=10, minutes=45), lesson),
        (DAY_ONE + timedelta(hours=12), quiz),
        (DAY_ONE + timedelta(days=1, hours=9), quiz),
        (DAY_ONE - timedelta(seconds=1), quiz),  # just before the ranges below
    ]:
        generation(template, at=at)
    return quiz, lesson


def test_usage_by_hour(reader, usage_data):
    response = reader.get(f"{A}/usage", {"interval": "hour", "from": "2025-03-01T10:00:00Z", "to": "2025-03-01T13:00Z"})
    assert response.status_code == 200
    assert response.json() == {
        "from": "2025-03-01T10:00:00Z",
        "to": "2025-03-01T13:00:00Z",
        "series": [
            {"bucket": "2025-03-01T10:00:00Z", "generations": 2},
            {"bucket": "2025-03-01T11:00:00Z", "generations": 0},
            {"bucket": "2025-03-01T12:00:00Z", "generations": 1},
        ],
    }


def test_usage_by_day_with_a_template_filter(reader, usage_data):
    response = reader.get(f"{A}/usage", {"interval": "day", "from": "2025-03-01", "to": "2025-03-04"})
    assert response.json()["series"] == (
        [
            {"bucket": "2025-03-01T00:00:00Z", "generations": 3},
            {"bucket": "2025-03-02T00:00:00Z", "generations": 1},
            {"bucket": "2025-03-03T00:00:00Z", "generations": 0},
        ]
    )
    response = reader.get(f"{A}/usage/", {"from": "2025-03-01", "to": "2025-03-03", "template": "quiz"})
    assert response.json()["series"] == (
        [
            {"bucket": "2025-03-01T00:00:00Z", "generations": 2},
            {"bucket": "2025-03-02T00:00:00Z", "generations": 1},
        ]
    )


def test_usage_reads_offsets_and_starts_mid_bucket(reader, usage_data):
    # 11:30+01:00 is 10:30Z: the 10:00 bucket counts only what came from 10:30 on.
    response = reader.get(
        f"{A}/usage", {"interval": "hour", "from": "2025-03-01T11:30:00+01:00", "to": "2025-03-01T11:00Z"}
    )
    assert response.json() == {
        "from": "2025-03-01T10:30:00Z",
        "to": "2025-03-01T11:00:00Z",
        "series": [{"bucket": "2025-03-01T10:00:00Z", "generations": 1}],
    }


def test_usage_defaults_to_the_last_7_days_or_48_hours(reader, workspace):
    now = timezone.now()
    template = make_template(workspace, "quiz")
    generation(template, at=max(bucket_floor(now, "hour"), now - timedelta(minutes=1)))  # in this hour and day
    generation(template, at=now - timedelta(days=10))

    series = reader.get(f"{A}/usage").json()["series"]
    assert len(series) == 7
    assert series[-1] == {"bucket": selectors.iso_utc(bucket_floor(now, "day")), "generations": 1}
    assert sum(point["generations"] for point in series) == 1

    series = reader.get(f"{A}/usage?interval=hour").json()["series"]
    assert len(series) == 48
    assert series[-1]["bucket"] == selectors.iso_utc(bucket_floor(now, "hour"))
    assert series[0]["bucket"] == selectors.iso_utc(bucket_floor(now, "hour") - timedelta(hours=47))


@pytest.mark.parametrize(
    ("params", "fields"),
    [
        ({"interval": "week"}, {"interval"}),
        ({"from": "garbage"}, {"from"}),
        ({"to": "2025-13-01"}, {"to"}),
        ({"from": "yesterday", "to": "now"}, {"from", "to"}),
        # A value outside the documented enum is refused before anything else is read.
        ({"interval": "week", "from": "yesterday", "to": "now"}, {"interval"}),
    ],
)
def test_usage_refuses_bad_parameters(reader, params, fields):
    response = reader.get(f"{A}/usage", params)
    assert response.status_code == 400, response.content
    assert error(response)["code"] == "validation_error"
    assert set(error(response)["details"]) == fields


def test_usage_allows_up_to_1000_buckets(reader):
    start = DAY_ONE
    ok = reader.get(
        f"{A}/usage", {"interval": "hour", "from": start.isoformat(), "to": (start + timedelta(hours=1000)).isoformat()}
    )
    assert ok.status_code == 200 and len(ok.json()["series"]) == 1000
    assert ok.json()["from"] == selectors.iso_utc(start)


@pytest.mark.parametrize(
    ("params", "first", "count"),
    [
        # More than 1000 buckets: the newest 1000 before `to`, and `from` says where they start.
        ({"interval": "hour", "from": "2020-01-01", "to": "2025-01-01"}, "2024-11-20T08:00:00Z", 1000),
        ({"interval": "hour", "from": "2020-01-01", "to": "2025-01-01T00:00:01Z"}, "2024-11-20T09:00:00Z", 1000),
        ({"interval": "day", "from": "2000-01-01", "to": "2025-01-01"}, "2022-04-07T00:00:00Z", 1000),
        # `from` not before `to`: [from, to) is empty.
        ({"from": "2025-03-02", "to": "2025-03-01"}, "2025-03-01T00:00:00Z", 0),
        ({"from": "2025-03-01", "to": "2025-03-01"}, "2025-03-01T00:00:00Z", 0),
        # A `to` in the first days of year 1: the default window starts at the earliest moment there is.
        ({"to": "0001-01-02"}, "0001-01-01T00:00:00Z", 1),
    ],
)
def test_usage_ranges_the_series_cannot_cover_as_asked(reader, params, first, count):
    response = reader.get(f"{A}/usage", params)
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["from"], len(body["series"])) == (first, count)
    assert not body["series"] or body["series"][0]["bucket"] == first


def test_usage_of_an_unknown_template_is_404(reader, workspace):
    make_template(workspace, "quiz")
    response = reader.get(f"{A}/usage?template=nope")
    assert response.status_code == 404
    assert error(response)["code"] == "not_found"


# --- scoping and access ------------------------------------------------------------------------
def test_another_workspaces_data_never_counts_or_shows(reader, workspace):
    mine = make_template(workspace, "shared_key")
    generation(mine, at=DAY_ONE + timedelta(hours=1))
    other_workspace = WorkspaceFactory()
    theirs = make_template(other_workspace, "shared_key")
    only_theirs = make_template(other_workspace, "theirs_only")
    for template in (theirs, theirs, only_theirs):
        generation(template, at=DAY_ONE + timedelta(hours=2), cache_hit=True, rating=1)

    summary = reader.get(f"{A}/summary").json()
    assert summary["templates"]["total"] == 1
    assert summary["generations"]["total"] == 1
    assert summary["cache"]["hits"] == 0 and summary["rating"]["count"] == 0
    assert [row["key"] for row in summary["top_templates"]] == ["shared_key"]

    per_template = reader.get(f"{A}/templates/shared_key").json()
    assert per_template["generations"]["total"] == 1
    assert reader.get(f"{A}/templates/theirs_only").status_code == 404
    assert reader.get(f"{A}/usage?template=theirs_only").status_code == 404

    series = reader.get(f"{A}/usage", {"from": "2025-03-01", "to": "2025-03-02"}).json()["series"]
    assert series == [{"bucket": "2025-03-01T00:00:00Z", "generations": 1}]


@pytest.mark.parametrize("path", ["summary", "templates/quiz", "usage"])
def test_analytics_needs_an_api_key(client, workspace, path):
    make_template(workspace, "quiz")
    response = client.get(f"{A}/{path}")
    assert response.status_code == 401
    assert error(response)["code"] == "authentication_failed"


@pytest.mark.parametrize("path", ["summary", "templates/quiz", "usage"])
def test_analytics_refuses_writes(reader, workspace, path):
    make_template(workspace, "quiz")
    assert reader.post(f"{A}/{path}", {}, format="json").status_code in (403, 405)


# --- query counts ------------------------------------------------------------------------------
@pytest.mark.parametrize("count", [1, 50])
def test_selectors_run_a_constant_number_of_queries(django_assert_num_queries, workspace, count):
    now = timezone.now()
    templates = [make_template(workspace, "quiz"), make_template(workspace, "lesson")]
    for index in range(count):
        generation(
            templates[index % 2], at=now - timedelta(hours=index), cache_hit=index % 3 == 0, rating=index % 5 + 1
        )

    with django_assert_num_queries(3):
        summary = selectors.analytics_summary(workspace=workspace)
    assert summary["generations"]["total"] == count
    with django_assert_num_queries(4):
        per_template = selectors.template_analytics(workspace=workspace, key="quiz")
    assert per_template["generations"]["total"] == (count + 1) // 2
    query = UsageQuery(interval="hour", start=now - timedelta(hours=60), end=now + timedelta(seconds=1))
    with django_assert_num_queries(1):
        series = selectors.usage_series(workspace=workspace, query=query)
    assert sum(point["generations"] for point in series) == count
    with django_assert_num_queries(1):
        selectors.version_ratings(workspace=workspace)


def test_endpoints_run_as_many_queries_with_1_or_50_generations(make_client, workspace):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    template = make_template(workspace, "quiz")
    paths = [f"{A}/summary", f"{A}/templates/quiz", f"{A}/usage?template=quiz"]

    def query_counts() -> list[int]:
        counts = []
        for path in paths:
            client = make_client(workspace, "read")  # a fresh key each time: its last_used_at is written once
            with CaptureQueriesContext(connection) as queries:
                assert client.get(path).status_code == 200
            counts.append(len(queries))
        return counts

    generation(template)
    with_one = query_counts()
    for _ in range(49):
        generation(template, cache_hit=True, rating=4)
    assert query_counts() == with_one
