"""Cache control endpoints and the retention purge."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from generation.models import Generation
from generation.tasks import generations_purge_task
from profiles.services import profile_create
from templates_app.services import template_create
from tests.support.api import code_of

GEN = "/api/v1/prompts/generate"


@pytest.fixture
def admin(make_client, workspace):
    return make_client(workspace, "admin")


@pytest.fixture
def lesson(workspace):
    return template_create(workspace=workspace, actor="t", key="lesson", name="L", template="About {{ topic }}")


def test_stats_count_hits_and_misses(admin, lesson):
    before = admin.get("/api/v1/cache/stats").json()
    admin.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json")
    admin.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json")
    after = admin.get("/api/v1/cache/stats").json()
    assert set(after) == {"hits", "misses", "hit_rate", "backend", "by_type"}
    assert after["by_type"]["prompt"]["hits"] - before.get("by_type", {}).get("prompt", {}).get("hits", 0) == 1
    assert after["hits"] > before["hits"] and after["misses"] > before["misses"]
    assert 0 <= after["hit_rate"] <= 1 and after["backend"] in {"redis", "locmem"}


def test_stats_count_only_the_callers_workspace(admin, lesson, make_client):
    before = admin.get("/api/v1/cache/stats").json()
    stranger = make_client(scope="admin")
    template_create(workspace=stranger.api_key.workspace, actor="t", key="lesson", name="L", template="{{ topic }}")
    for _ in range(3):
        stranger.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json")
    assert admin.get("/api/v1/cache/stats").json() == before
    theirs = stranger.get("/api/v1/cache/stats").json()
    assert theirs["by_type"]["prompt"] == {"hits": 2, "misses": 1}


def test_invalidate_drops_only_the_callers_entries(admin, lesson, workspace, make_client):
    admin.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json")
    stranger = make_client(scope="admin")
    template_create(workspace=stranger.api_key.workspace, actor="t", key="lesson", name="L", template="{{ topic }}")
    stranger.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json")
    response = admin.post("/api/v1/cache/invalidate", {"pattern": "prompts:*"}, format="json")
    assert response.status_code == 200 and response.json() == {"invalidated": 1}
    assert (
        admin.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json").json()["cache_hit"]
        is False
    )
    assert (
        stranger.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json").json()["cache_hit"]
        is True
    )
    assert admin.post("/api/v1/cache/invalidate", {"pattern": "*"}, format="json").json()["invalidated"] >= 2


@pytest.mark.parametrize("pattern", ["users:*", "templates:a b", "", "../*", "TEMPLATES:*"])
def test_invalidate_refuses_unknown_patterns(admin, pattern):
    response = admin.post("/api/v1/cache/invalidate", {"pattern": pattern}, format="json")
    assert response.status_code == 400 and code_of(response) == "validation_error"


def test_cache_control_needs_the_admin_scope(make_client, workspace):
    writer = make_client(workspace, "write")
    assert code_of(writer.post("/api/v1/cache/invalidate", {"pattern": "*"}, format="json")) == "permission_denied"
    assert code_of(writer.post("/api/v1/cache/warmup", {}, format="json")) == "permission_denied"
    assert make_client(workspace, "read").get("/api/v1/cache/stats").status_code == 200


def test_warmup_loads_published_templates(admin, lesson, workspace, django_assert_num_queries):
    template_create(workspace=workspace, actor="t", key="draft_one", name="D", template="x", status="draft")
    assert admin.post("/api/v1/cache/warmup", {}, format="json").json() == {"warmed": 1}
    assert admin.post("/api/v1/cache/warmup", {"templates": ["lesson", "draft_one", "nope"]}, format="json").json() == {
        "warmed": 2
    }
    from templates_app.selectors import template_variants

    with django_assert_num_queries(0):
        assert template_variants(workspace_id=workspace.pk, key="lesson")


def test_the_purge_task_deletes_only_old_records_in_batches(admin, lesson, settings):
    settings.GENERATION_RETENTION_DAYS = 30
    for _ in range(3):
        admin.post(GEN, {"template_id": "lesson", "context": {"topic": "x"}}, format="json")
    old = Generation.objects.all()[:2]
    Generation.objects.filter(pk__in=[record.pk for record in old]).update(
        created_at=timezone.now() - timedelta(days=31)
    )
    assert generations_purge_task.apply().get() == 2
    assert Generation.objects.count() == 1
    assert generations_purge_task.apply().get() == 0


def test_a_profile_change_is_seen_by_the_next_generation(admin, workspace):
    template_create(workspace=workspace, actor="t", key="style", name="S", template="{{ learning_style }}")
    profile_create(workspace=workspace, user_id="u1", learning_style="auditory")
    assert (
        admin.post(GEN, {"template_id": "style", "user_id": "u1"}, format="json").json()["generated_prompt"]
        == "auditory"
    )
    admin.patch("/api/v1/profiles/u1", {"learning_style": "reading"}, format="json")
    assert (
        admin.post(GEN, {"template_id": "style", "user_id": "u1"}, format="json").json()["generated_prompt"]
        == "reading"
    )
    assert cache.get("nothing-here") is None
