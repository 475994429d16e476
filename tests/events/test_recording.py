"""Every write endpoint of every app records its event (with the caller as actor), in the change's transaction: a
write that fails records nothing."""

import pytest

from abtests.tasks import ab_test_analyze_task
from promptconfig.events.models import Event
from tests.events.conftest import last_event_id

pytestmark = [pytest.mark.postgres]
T = "/api/v1/templates"
ACTOR = "api:admin key"


@pytest.fixture
def world(admin):
    """Templates `lesson` (v1 served, v2 not, label staging -> 1), `other` and `spare`, profile u1, an A/B test
    of lesson against other, a spare API key and a webhook."""
    for key in ("lesson", "other", "spare"):
        assert (
            admin.post(T, {"key": key, "name": key, "template": "Teach {{ topic }}"}, format="json").status_code == 201
        )
    admin.patch(f"{T}/lesson", {"template": "Teach {{ topic }} well", "publish": False}, format="json")
    admin.put(f"{T}/lesson/labels/staging", {"version": 1}, format="json")
    admin.post("/api/v1/profiles", {"user_id": "u1"}, format="json")
    test = admin.post(
        "/api/v1/ab-tests",
        {"name": "t", "template_a": "lesson", "template_b": "other", "target_metrics": ["rating"]},
        format="json",
    ).json()
    key = admin.post("/api/v1/api-keys", {"name": "spare"}, format="json").json()
    hook = admin.post("/api/v1/webhooks", {"url": "http://127.0.0.1:9/", "events": ["*"]}, format="json").json()
    return {"test": test["test_id"], "key": key["id"], "hook": hook["id"]}


# (method, path, body, the event types it records (subject kind, id)); {test}, {key} and {hook} are world's ids.
WRITES = [
    (
        "post",
        T,
        {"key": "new", "name": "N", "template": "x"},
        ["template.created", "template.version_created", "template.published"],
        ("template", "new"),
    ),
    ("patch", f"{T}/lesson", {"description": "d"}, ["template.updated"], ("template", "lesson")),
    (
        "patch",
        f"{T}/lesson",
        {"template": "v3"},
        ["template.version_created", "template.published"],
        ("template", "lesson"),
    ),
    (
        "put",
        f"{T}/lesson",
        {"name": "L", "template": "v3"},
        ["template.updated", "template.version_created", "template.published"],
        ("template", "lesson"),
    ),
    ("delete", f"{T}/spare", None, ["template.deleted"], ("template", "spare")),
    ("post", f"{T}/lesson/versions/2/publish", None, ["template.published"], ("template", "lesson")),
    ("post", f"{T}/lesson/versions/1/rollback", None, ["template.rolled_back"], ("template", "lesson")),
    ("put", f"{T}/lesson/labels/staging", {"version": 2}, ["template.label_moved"], ("template", "lesson")),
    ("delete", f"{T}/lesson/labels/staging", None, ["template.label_removed"], ("template", "lesson")),
    ("put", f"{T}/lesson/lifecycle", {"status": "deprecated"}, ["template.lifecycle_changed"], ("template", "lesson")),
    (
        "post",
        f"{T}/lesson/fork",
        {"new_key": "copy"},
        ["template.created", "template.version_created", "template.forked"],
        ("template", "lesson"),
    ),
    (
        "post",
        f"{T}/lesson/relationships",
        {"target": "other", "kind": "references"},
        ["template.relationship_added"],
        ("template", "lesson"),
    ),
    ("post", "/api/v1/profiles", {"user_id": "u2"}, ["profile.created"], ("profile", "u2")),
    ("patch", "/api/v1/profiles/u1", {"learning_style": "auditory"}, ["profile.updated"], ("profile", "u1")),
    ("put", "/api/v1/profiles/u1", {"difficulty_level": "advanced"}, ["profile.updated"], ("profile", "u1")),
    ("delete", "/api/v1/profiles/u1", None, ["profile.deleted"], ("profile", "u1")),
    ("post", "/api/v1/profiles/u1/sessions", {"duration_seconds": 60}, ["profile.session_recorded"], ("profile", "u1")),
    (
        "post",
        "/api/v1/ab-tests",
        {"name": "t2", "template_a": "other", "template_b": "lesson", "target_metrics": ["rating"]},
        ["ab_test.created"],
        ("ab_test", None),
    ),
    ("patch", "/api/v1/ab-tests/{test}", {"status": "paused"}, ["ab_test.status_changed"], ("ab_test", "{test}")),
    (
        "patch",
        "/api/v1/ab-tests/{test}",
        {"status": "completed"},
        ["ab_test.status_changed"],
        ("ab_test", "{test}"),
    ),
    ("post", "/api/v1/api-keys", {"name": "ci"}, ["api_key.created"], ("api_key", None)),
    ("delete", "/api/v1/api-keys/{key}", None, ["api_key.revoked"], ("api_key", "{key}")),
    (
        "post",
        "/api/v1/webhooks",
        {"url": "http://127.0.0.1:9/x", "events": ["template.*"]},
        ["webhook.created"],
        ("webhook", None),
    ),
    ("patch", "/api/v1/webhooks/{hook}", {"description": "d"}, ["webhook.updated"], ("webhook", "{hook}")),
    ("delete", "/api/v1/webhooks/{hook}", None, ["webhook.deleted"], ("webhook", "{hook}")),
    ("post", "/api/v1/webhooks/{hook}/rotate-secret", None, ["webhook.secret_rotated"], ("webhook", "{hook}")),
    ("post", "/api/v1/webhooks/{hook}/test", None, ["webhook.test"], ("webhook", "{hook}")),
    (
        "post",
        "/api/v1/bulk/templates",
        {"operation": "update_tags", "items": [{"key": "lesson", "add": ["bulk"]}]},
        ["template.updated"],
        ("template", "lesson"),
    ),
    (
        "post",
        "/api/v1/import",
        {
            "format": "promptconfig/v1",
            "templates": [{"key": "imported", "language": "en", "name": "I", "template": "x"}],
        },
        ["template.created", "template.version_created", "template.published"],
        ("template", "imported"),
    ),
]
# Writes that change no state the log follows: runtime calls (generation records, A/B metrics), reads that take a
# body, cache control, queueing an analysis (its completion is ab_test.completed), a provider version sighting
# (a change of version is model_version.drift) and a redelivery (the delivery log has it).
NOT_RECORDED = {
    ("post", "/api/v1/templates/search"),
    ("post", "/api/v1/prompts/generate"),
    ("post", "/api/v1/prompts/generate/batch"),
    ("post", "/api/v1/generate-prompt"),
    ("post", "/api/v1/prompt-data"),
    ("post", "/api/v1/prompt-data/batch"),
    ("post", "/api/v1/prompts/{prompt_id}/feedback"),
    ("post", "/api/v1/ab-tests/{id}/metrics"),
    ("post", "/api/v1/ab-tests/{id}/analyze"),
    ("post", "/api/v1/cache/invalidate"),
    ("post", "/api/v1/cache/warmup"),
    ("post", "/api/v1/templates/{key}/ensure-version"),
    ("post", "/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver"),
    ("post", "/api/v1/templates/{key}/refinements"),  # queues an LLM job; nothing in the workspace changes yet
}
# Writes whose events are asserted where their fixtures live: applying a refinement needs a fake LLM
# (tests/templates_app/test_refinements.py checks its template.version_created).
COVERED_ELSEWHERE = {("post", "/api/v1/templates/{key}/refinements/{id}/apply")}


def _fill(text, ids):
    return text.format(**ids) if isinstance(text, str) else text


@pytest.mark.usefixtures("eager_tasks")
@pytest.mark.parametrize(("method", "path", "body", "types", "subject"), WRITES, ids=[f"{w[0]} {w[1]}" for w in WRITES])
def test_every_write_endpoint_records_its_event(admin, world, method, path, body, types, subject):
    mark = last_event_id()
    response = getattr(admin, method)(_fill(path, world), body, format="json")
    assert response.status_code < 300, response.content
    events = list(Event.objects.filter(pk__gt=mark).order_by("id"))
    assert [event.type for event in events if event.type in types] == types
    main = next(event for event in events if event.type == types[-1])
    kind, subject_id = subject
    assert main.subject_kind == kind and main.workspace_id == admin.api_key.workspace_id
    if subject_id is not None:
        assert main.subject_id == _fill(subject_id, {k: str(v) for k, v in world.items()})
    actors = {event.actor for event in events if event.type != "ab_test.completed"}
    assert actors == {ACTOR}


def test_a_completed_test_records_its_winner_once_analysed(admin, world):
    admin.patch(f"/api/v1/ab-tests/{world['test']}", {"status": "completed"}, format="json")
    mark = last_event_id()
    ab_test_analyze_task(world["test"])  # what the view queued, run here
    ab_test_analyze_task(world["test"])  # analysed again: no second event
    (completed,) = Event.objects.filter(pk__gt=mark)
    assert (completed.type, completed.actor, completed.subject_id) == (
        "ab_test.completed",
        "system:ab_test_analysis",
        world["test"],
    )
    assert "winner" in completed.data and completed.data["winner"] is None


def test_the_table_covers_every_write_operation(client, db):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    operations = {(m, p) for p, item in paths.items() for m in item if m in ("post", "put", "patch", "delete")}
    covered = {(m, _template(p)) for m, p, *_ in WRITES} | NOT_RECORDED | COVERED_ELSEWHERE
    assert operations - covered == set()


def _template(path: str) -> str:
    """/api/v1/templates/lesson/labels/staging -> the OpenAPI path with its parameters."""
    parts = path.split("/")
    names = {3: "{key}" if parts[3:4] == ["templates"] else "{user_id}" if parts[3:4] == ["profiles"] else "{id}"}
    if len(parts) > 4:
        parts[4] = names[3] if parts[3] in ("templates", "profiles", "ab-tests", "api-keys", "webhooks") else parts[4]
    if parts[3:4] == ["templates"] and len(parts) > 6 and parts[5] == "versions":
        parts[6] = "{number}"
    if parts[3:4] == ["templates"] and len(parts) > 6 and parts[5] == "labels":
        parts[6] = "{label}"
    return "/".join(parts)


FAILING = [
    ("post", T, {"key": "lesson", "name": "dup", "template": "x"}, 409),
    ("post", T, {"key": "broken", "name": "b", "template": "{% if %}"}, 422),
    ("patch", f"{T}/lesson", {"priority": "high"}, 400),
    ("patch", f"{T}/lesson", {"template": '{% include "lesson" %}'}, 422),
    ("put", f"{T}/lesson/lifecycle", {"status": "draft"}, 409),
    ("delete", f"{T}/lesson/labels/production", None, 409),
    ("post", f"{T}/lesson/versions/9/publish", None, 404),
    ("post", f"{T}/lesson/fork", {"new_key": "other"}, 409),
    ("post", f"{T}/lesson/relationships", {"target": "nothing", "kind": "references"}, 404),
    ("post", "/api/v1/profiles", {"user_id": "u1"}, 409),
    ("post", "/api/v1/profiles", {"user_id": "u3", "learning_style": "nope"}, 400),
    ("patch", "/api/v1/ab-tests/{test}", {"status": "bogus"}, 400),
    (
        "post",
        "/api/v1/ab-tests",
        {"name": "t3", "template_a": "lesson", "template_b": "other", "target_metrics": ["r"]},
        409,
    ),
    ("post", "/api/v1/api-keys", {"name": "k", "scope": "root"}, 400),
    ("post", "/api/v1/webhooks", {"url": "http://10.0.0.1/", "events": ["*"]}, 400),
    ("patch", "/api/v1/webhooks/{hook}", {"events": ["nope.*"]}, 400),
]


@pytest.mark.parametrize(("method", "path", "body", "status"), FAILING, ids=[f"{f[0]} {f[1]} {f[3]}" for f in FAILING])
def test_a_failing_write_records_nothing(admin, world, method, path, body, status):
    mark = last_event_id()
    response = getattr(admin, method)(_fill(path, world), body, format="json")
    assert response.status_code == status, response.content
    assert not Event.objects.filter(pk__gt=mark).exists()
