"""Moving the generation table out of templates_app keeps every row: a database made before the move migrates
forward with its generation history and the A/B metric events that pointed at it."""

import uuid
from datetime import timedelta

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from abtests.models import MetricEvent
from abtests.services import ab_test_create
from templates_app.services import template_create

BEFORE_THE_MOVE = [("templates_app", "0004_alter_templateevent_kind"), ("abtests", "0001_initial")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state(targets).apps


def test_generation_history_survives_the_move(transactional_db, make_client, workspace):
    client = make_client(workspace, "read")
    first = template_create(workspace=workspace, actor="t", key="lesson", name="L", template="About {{ topic }}")
    template_create(workspace=workspace, actor="t", key="other", name="O", template="Other {{ topic }}")
    test = ab_test_create(
        workspace=workspace, actor="t", name="t", template_a="lesson", template_b="other", target_metrics=["rating"]
    )
    old = migrate(BEFORE_THE_MOVE)
    OldGeneration = old.get_model("templates_app", "Generation")
    OldMetricEvent = old.get_model("abtests", "MetricEvent")
    assert OldGeneration._meta.db_table == "templates_app_generation"
    now = timezone.now()
    ids = [uuid.uuid4() for _ in range(3)]
    for index, prompt_id in enumerate(ids):
        OldGeneration.objects.create(
            id=prompt_id,
            workspace_id=workspace.pk,
            template_id=first.pk,
            version_id=first.served_version_id,
            template_key="lesson",
            language="en",
            user_id=f"u{index}",
            variables={"topic": f"t{index}"},
            text=f"About t{index}",
            cache_key=f"prompts:{workspace.pk}:{index}",
            ab_test_id=str(test.pk),
            ab_variant="A",
            expires_at=now + timedelta(hours=1),
            created_at=now - timedelta(minutes=index),
            rating=4,
            feedback_at=now,
        )
    OldMetricEvent.objects.create(
        test_id=test.pk, user_id="u0", variant="A", metric="rating", value=4.0, generation_id=ids[0]
    )

    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    for index, prompt_id in enumerate(ids):
        response = client.get(f"/api/v1/prompts/{prompt_id}")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["generated_prompt"] == f"About t{index}" and body["user_id"] == f"u{index}"
        assert body["variables_applied"] == {"topic": f"t{index}"} and body["feedback"]["rating"] == 4
        assert body["ab_test"] == {"test_id": str(test.pk), "variant": "A"}
    summary = client.get("/api/v1/analytics/summary").json()
    assert summary["generations"]["total"] == 3 and summary["rating"] == {"average": 4.0, "count": 3}
    event = MetricEvent.objects.get(test=test)
    assert event.prompt_id == ids[0] and event.value == 4.0
