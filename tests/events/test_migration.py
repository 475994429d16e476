"""The template history kept before the event log (TemplateEvent rows) moves into the log: the history endpoints
and GET /events show it, in order, with its versions and actors."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from promptconfig.events.models import Event
from promptconfig.events.services import events_prune
from templates_app.services import template_create, template_update

pytestmark = [pytest.mark.postgres]
BEFORE = [("templates_app", "0005_move_generation_out"), ("events", None)]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([target for target in targets if target[1]]).apps


def test_the_old_template_history_moves_into_the_event_log(transactional_db, make_client, workspace):
    lesson = template_create(workspace=workspace, actor="api:w", key="lesson", name="L", template="About {{ topic }}")
    template_update(lesson, actor="api:w", template="More about {{ topic }}")
    old = migrate(BEFORE)
    OldEvent = old.get_model("templates_app", "TemplateEvent")
    OldEvent.objects.create(
        template_id=lesson.pk,
        version_id=lesson.served_version_id,
        kind="model_drift",
        actor="system:probe",
        data={"provider": "openai"},
    )
    assert OldEvent.objects.count() == 6  # created, version_created, published x2, and the drift
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    reader = make_client(workspace, "read")
    history = reader.get("/api/v1/templates/lesson/history").json()["results"]
    assert [(item["event"], item["version"], item["actor"]) for item in history] == [
        ("created", None, "api:w"),
        ("version_created", 1, "api:w"),
        ("published", 1, "api:w"),
        ("version_created", 2, "api:w"),
        ("published", 2, "api:w"),
        ("model_drift", 2, "system:probe"),
    ]
    versions = reader.get("/api/v1/templates/lesson/versions").json()["results"]
    assert [item["event"] for item in versions[1]["history"]] == ["version_created", "published", "model_drift"]
    logged = reader.get("/api/v1/events?subject_id=lesson").json()["results"]
    assert [event["type"] for event in logged][-1] == "model_version.drift"
    assert logged[0]["type"] == "template.created" and logged[0]["data"]["language"] == "en"


def test_retention_prunes_old_events_and_deliveries(db, workspace, settings):
    from datetime import timedelta

    from django.utils import timezone

    from promptconfig.events.models import Webhook, WebhookDelivery
    from promptconfig.events.services import record_event

    settings.EVENT_RETENTION_DAYS, settings.WEBHOOK_DELIVERY_RETENTION_DAYS = 365, 30
    hook = Webhook.objects.create(workspace=workspace, url="http://127.0.0.1:9/", events=["*"], secret="whsec_QUJD")
    old, recent, _kept = (
        record_event(workspace=workspace, type="profile.created", actor="t", subject_kind="profile", subject_id=name)
        for name in ("old", "recent", "kept")
    )
    now = timezone.now()
    Event.objects.filter(pk=old.pk).update(occurred_at=now - timedelta(days=400))
    WebhookDelivery.objects.filter(event=recent).update(created_at=now - timedelta(days=31))
    assert events_prune(now=now) == (1, 1)  # the old event (its delivery goes with it), the old delivery
    assert list(Event.objects.filter(subject_kind="profile").values_list("subject_id", flat=True)) == ["recent", "kept"]
    assert list(WebhookDelivery.objects.filter(webhook=hook).values_list("event__subject_id", flat=True)) == ["kept"]
