"""GET /events and the webhook endpoints: scopes, the cursor, filters, secrets shown once, the SSRF guard at save."""

import socket
import threading

import psycopg
import pytest
from django.db import connection

from promptconfig.events.models import Event, Webhook
from promptconfig.events.services import record_event
from tests.events.conftest import last_event_id
from tests.factories import WorkspaceFactory
from tests.support.api import code_of
from tests.support.servers import database_url_for_tests

pytestmark = [pytest.mark.postgres]
T = "/api/v1/templates"


def make_webhook(client, url="http://127.0.0.1:9/hook", events=("*",), **fields):
    response = client.post("/api/v1/webhooks", {"url": url, "events": list(events), **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def test_the_log_lists_every_change_oldest_first_with_actor_and_subject(admin, writer, reader):
    writer.post(T, {"key": "lesson", "name": "Lesson", "template": "Teach {{ topic }}"}, format="json")
    writer.post("/api/v1/profiles", {"user_id": "u1"}, format="json")
    body = reader.get("/api/v1/events").json()
    assert body["next"] is None
    kinds = [(event["type"], event["subject"]["kind"], event["subject"]["id"]) for event in body["results"]]
    assert ("template.created", "template", "lesson") in kinds and ("profile.created", "profile", "u1") in kinds
    created = next(event for event in body["results"] if event["type"] == "template.created")
    assert created["actor"] == "api:write key" and created["data"]["language"] == "en"
    assert set(created) == {"id", "type", "occurred_at", "actor", "subject", "data"}
    assert [event["id"] for event in body["results"]] == sorted(event["id"] for event in body["results"])


def test_filters_and_the_cursor(admin, writer, reader):
    for key in ("a1", "a2", "a3"):
        writer.post(T, {"key": key, "name": key, "template": "x"}, format="json")
    writer.post("/api/v1/profiles", {"user_id": "u1"}, format="json")
    templates = reader.get("/api/v1/events?type=template.*").json()["results"]
    assert templates and all(event["type"].startswith("template.") for event in templates)
    created = reader.get("/api/v1/events?type=template.created&page_size=2").json()
    assert [event["subject"]["id"] for event in created["results"]] == ["a1", "a2"]
    following = reader.get(created["next"]).json()
    assert [event["subject"]["id"] for event in following["results"]] == ["a3"] and following["next"] is None
    one = reader.get("/api/v1/events?subject_kind=template&subject_id=a2").json()["results"]
    assert {event["subject"]["id"] for event in one} == {"a2"}
    after = reader.get(f"/api/v1/events?after={created['results'][0]['id']}&type=template.created").json()
    assert [event["subject"]["id"] for event in after["results"]] == ["a2", "a3"]
    profiles = reader.get("/api/v1/events?subject_kind=profile").json()["results"]
    assert [event["type"] for event in profiles] == ["profile.created"]


def test_bad_filters_are_400_and_other_workspaces_events_are_invisible(reader, make_client):
    for query in ("type=nope", "type=template.nothing", "type=zzz.*", "after=0", "after=abc", "page_size=0"):
        response = reader.get(f"/api/v1/events?{query}")
        assert response.status_code == 400 and code_of(response) == "validation_error", query
    other = make_client(WorkspaceFactory(), "write")
    other.post(T, {"key": "secret-thing", "name": "S", "template": "x"}, format="json")
    foreign = Event.objects.filter(subject_id="secret-thing").first()
    assert all(event["subject"]["id"] != "secret-thing" for event in reader.get("/api/v1/events").json()["results"])
    assert code_of(reader.get(f"/api/v1/events?after={foreign.pk}")) == "not_found"


def test_an_event_committed_late_with_a_smaller_id_is_not_skipped(transactional_db, make_client, workspace):
    """A writer that took its id first but commits last: a reader that paged past the later ids still gets it."""
    reader = make_client(workspace, "read")
    slow = psycopg.connect(database_url_for_tests(), autocommit=False)
    try:
        slow.execute(
            "INSERT INTO events_event (workspace_id, type, occurred_at, actor, subject_kind, subject_id, data) "
            "VALUES (%s, 'profile.created', now(), 'system:slow', 'profile', 'late', '{}')",
            [workspace.pk],
        )
        fast = record_event(
            workspace=workspace, type="profile.created", actor="t", subject_kind="profile", subject_id="early"
        )
        first = reader.get("/api/v1/events?subject_kind=profile").json()["results"]
        assert [event["subject"]["id"] for event in first] == ["early"]
        slow.commit()
    finally:
        slow.close()
    late = Event.objects.get(subject_id="late")
    assert late.pk < fast.pk
    rest = reader.get(f"/api/v1/events?subject_kind=profile&after={fast.pk}").json()["results"]
    assert [event["subject"]["id"] for event in rest] == ["late"]


def test_concurrent_writers_and_a_paging_reader_see_each_event_once(transactional_db, make_client, workspace):
    reader = make_client(workspace, "read")
    seen: list[int] = []

    def write(n: int) -> None:
        for i in range(15):
            record_event(
                workspace=workspace, type="profile.updated", actor="t", subject_kind="profile", subject_id=f"{n}-{i}"
            )
        connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    base = "/api/v1/events?type=profile.updated&page_size=7"
    while True:
        writing = any(thread.is_alive() for thread in threads)
        body = reader.get(f"{base}&after={seen[-1]}" if seen else base).json()
        seen += [event["id"] for event in body["results"]]
        if not writing and body["next"] is None:
            break
    for thread in threads:
        thread.join()
    assert len(seen) == len(set(seen)) == 45


# --- webhooks ---------------------------------------------------------------------------------------
def test_the_secret_is_shown_once_and_rotation_keeps_the_old_one_for_a_day(admin):
    created = make_webhook(admin, events=["template.published", "ab_test.*"], description="cache")
    assert created["secret"].startswith("whsec_") and created["events"] == ["template.published", "ab_test.*"]
    shown = admin.get(f"/api/v1/webhooks/{created['id']}").json()
    assert "secret" not in shown and shown["description"] == "cache" and shown["is_active"] is True
    assert all("secret" not in hook for hook in admin.get("/api/v1/webhooks").json()["results"])
    rotated = admin.post(f"/api/v1/webhooks/{created['id']}/rotate-secret").json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    webhook = Webhook.objects.get(pk=created["id"])
    assert webhook.previous_secret == created["secret"]
    hours = (webhook.previous_secret_expires_at - webhook.updated_at).total_seconds() / 3600
    assert 23.9 < hours <= 24.01


def test_webhooks_need_the_admin_scope_and_stay_in_their_workspace(admin, writer, reader, make_client):
    assert code_of(writer.post("/api/v1/webhooks", {"url": "http://127.0.0.1/", "events": ["*"]}, format="json")) == (
        "permission_denied"
    )
    assert reader.get("/api/v1/webhooks").status_code == 403
    created = make_webhook(admin)
    other = make_client(WorkspaceFactory(), "admin")
    for method, path in (("get", ""), ("patch", ""), ("delete", ""), ("post", "/test"), ("get", "/deliveries")):
        assert getattr(other, method)(f"/api/v1/webhooks/{created['id']}{path}", {}, format="json").status_code == 404
    assert other.get("/api/v1/webhooks/stats").json() == []


def test_update_delete_and_validation(admin):
    created = make_webhook(admin)
    changed = admin.patch(
        f"/api/v1/webhooks/{created['id']}", {"events": ["template.*"], "is_active": False}, format="json"
    ).json()
    assert changed["events"] == ["template.*"] and changed["is_active"] is False
    for body in ({"events": []}, {"events": ["nope"]}, {"events": ["template.nothing"]}, {"url": "ftp://x.org/"}):
        response = admin.patch(f"/api/v1/webhooks/{created['id']}", body, format="json")
        assert response.status_code == 400 and code_of(response) == "validation_error", body
    assert admin.patch(f"/api/v1/webhooks/{created['id']}", {"secret": "mine"}, format="json").status_code == 400
    assert admin.delete(f"/api/v1/webhooks/{created['id']}").status_code == 204
    assert admin.get(f"/api/v1/webhooks/{created['id']}").status_code == 404


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "not globally routable"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("ff02::1", "multicast"),
        ("::ffff:127.0.0.1", "loopback (embedded in ::ffff:7f00:1)"),
        ("::ffff:169.254.169.254", "link-local (embedded"),
        ("2002:7f00:1::", "loopback (embedded"),
    ],
)
def test_the_ssrf_guard_refuses_each_non_public_class_at_save(admin, settings, monkeypatch, address, reason):
    """The host resolves (through a patched resolver) to an address of each class: refused, naming why."""
    settings.WEBHOOK_ALLOWED_HOSTS = []
    real = socket.getaddrinfo

    def resolver(host, port, *args, **kwargs):
        if host == "target.test":
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    response = admin.post("/api/v1/webhooks", {"url": "https://target.test/in", "events": ["*"]}, format="json")
    assert response.status_code == 400 and code_of(response) == "validation_error", response.content
    (message,) = response.json()["error"]["details"]["url"]
    assert address in message and reason in message
    assert not Webhook.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/",
        "http://[::1]/",
        "ftp://example.com/",
        "http://user:pw@example.com/",
        "http://example.com:99999/",
    ],
)
def test_literal_addresses_and_other_schemes_are_refused_too(admin, settings, url):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    response = admin.post("/api/v1/webhooks", {"url": url, "events": ["*"]}, format="json")
    assert response.status_code == 400 and "url" in response.json()["error"]["details"], response.content


def test_a_listed_host_may_be_private(admin, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
    make_webhook(admin, url="http://127.0.0.1:8080/in")


def test_a_host_without_an_address_yet_is_saved_and_checked_at_each_delivery(admin, settings):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    make_webhook(admin, url="https://hooks.not-yet-there.invalid/in")


def test_test_event_deliveries_stats_and_redeliver(admin):
    created = make_webhook(admin, events=["profile.*"])
    mark = last_event_id()
    response = admin.post(f"/api/v1/webhooks/{created['id']}/test")
    assert response.status_code == 202 and response.json()["type"] == "webhook.test"
    assert Event.objects.filter(pk__gt=mark, type="webhook.test").count() == 1
    (delivery,) = admin.get(f"/api/v1/webhooks/{created['id']}/deliveries").json()["results"]
    assert delivery["event_type"] == "webhook.test" and delivery["attempt"] == 1 and delivery["state"] == "pending"
    again = admin.post(f"/api/v1/webhooks/{created['id']}/deliveries/{delivery['id']}/redeliver")
    assert again.status_code == 202 and again.json()["event_id"] == delivery["event_id"]
    assert admin.post(f"/api/v1/webhooks/{created['id']}/deliveries/999999/redeliver").status_code == 404
    (stats,) = admin.get("/api/v1/webhooks/stats").json()
    assert stats["webhook_id"] == created["id"] and stats["pending"] == 2 and stats["delivered"] == 0
    assert {"failed", "last_success_at", "disabled_at"} <= set(stats)
