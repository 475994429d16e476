"""Deliveries to local receivers: Standard Webhooks signatures, retries, timeouts, disabling, the SSRF guard at
delivery time, and template.dependency_changed. Attempts run in-process through the delivery service (a real
worker runs them in test_worker.py)."""

import json
import socket
import time

import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from promptconfig.common import metrics
from promptconfig.events.delivery import delivery_attempt
from promptconfig.events.models import Event, Webhook, WebhookDelivery
from tests.events.conftest import last_event_id, pending, types_since
from tests.support.webhook_receiver import webhook_receiver

pytestmark = [pytest.mark.postgres]
T = "/api/v1/templates"


def subscribe(admin, url: str, events=("*",)) -> dict:
    response = admin.post("/api/v1/webhooks", {"url": url, "events": list(events)}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def deliver_pending(webhook_id: int) -> list[WebhookDelivery]:
    done = []
    for delivery in pending(webhook_id):
        delivery_attempt(delivery_id=delivery.pk)
        delivery.refresh_from_db()
        done.append(delivery)
    return done


def outcome_count(outcome: str) -> float:
    return metrics.webhook_deliveries_total.labels(outcome=outcome)._value.get()


def test_a_delivery_is_the_event_signed_as_standard_webhooks_says(admin, writer, reader):
    with webhook_receiver() as receiver:
        hook = subscribe(admin, receiver.url, ["profile.created"])
        writer.post("/api/v1/profiles", {"user_id": "u7"}, format="json")
        writer.post(T, {"key": "ignored", "name": "I", "template": "x"}, format="json")  # not subscribed
        before = outcome_count("delivered")
        (delivery,) = deliver_pending(hook["id"])
        (request,) = receiver.received
    payload = Verifier(hook["secret"]).verify(request.body, request.headers)
    (listed,) = reader.get("/api/v1/events?type=profile.created").json()["results"]
    assert payload == listed and payload["subject"] == {"kind": "profile", "id": "u7"}
    assert request.headers["webhook-id"] == str(listed["id"]) and request.headers["Content-Type"] == "application/json"
    assert request.headers["webhook-signature"].startswith("v1,")
    assert (delivery.state, delivery.status_code, delivery.response_excerpt) == ("delivered", 200, "answer 200")
    assert delivery.duration_ms is not None and outcome_count("delivered") == before + 1
    with pytest.raises(Exception, match="signature"):
        Verifier("whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY").verify(request.body, request.headers)


def test_after_a_rotation_both_secrets_verify_for_the_overlap(admin, writer):
    with webhook_receiver() as receiver:
        hook = subscribe(admin, receiver.url, ["profile.*"])
        rotated = admin.post(f"/api/v1/webhooks/{hook['id']}/rotate-secret").json()
        writer.post("/api/v1/profiles", {"user_id": "u8"}, format="json")
        deliver_pending(hook["id"])
        (request,) = [r for r in receiver.received if json.loads(r.body)["type"] == "profile.created"]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    for secret in (hook["secret"], rotated["secret"]):
        assert Verifier(secret).verify(request.body, request.headers)["subject"]["id"] == "u8"


def test_500_500_200_is_three_attempts_with_growing_delays(admin, writer):
    with webhook_receiver([500, 500, 200]) as receiver:
        hook = subscribe(admin, receiver.url, ["profile.created"])
        writer.post("/api/v1/profiles", {"user_id": "u9"}, format="json")
        for _ in range(3):
            (attempt,) = pending(hook["id"])
            time.sleep(max(0.0, (attempt.next_retry_at - attempt.created_at).total_seconds() - 0.05))
            delivery_attempt(delivery_id=attempt.pk)
        ids = {json.loads(r.body)["id"] for r in receiver.received}
    rows = list(WebhookDelivery.objects.filter(webhook_id=hook["id"]).order_by("id"))
    assert [(row.attempt, row.state, row.status_code) for row in rows] == [
        (1, "failed", 500),
        (2, "failed", 500),
        (3, "delivered", 200),
    ]
    first_wait, second_wait = ((row.next_retry_at - row.delivered_at).total_seconds() for row in rows[:2])
    assert 0.4 < first_wait < 0.6 and 0.9 < second_wait < 1.2  # 0.5 s, then 1 s, +-10 %
    assert len(ids) == 1  # the same webhook-id on every attempt
    assert Webhook.objects.get(pk=hook["id"]).consecutive_failures == 0


def test_a_receiver_that_hangs_is_cut_at_the_timeout(admin, writer, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    with webhook_receiver(["hang"]) as receiver:
        hook = subscribe(admin, receiver.url, ["profile.created"])
        writer.post("/api/v1/profiles", {"user_id": "slow"}, format="json")
        started = time.monotonic()
        (delivery,) = deliver_pending(hook["id"])
        took = time.monotonic() - started
    assert took < 2.5
    assert delivery.state == "failed" and delivery.status_code is None and "Timed out" in delivery.error
    (retry,) = pending(hook["id"])
    assert retry.attempt == 2


def test_redirects_are_not_followed_and_answers_are_read_up_to_the_limit(admin, writer, settings):
    settings.WEBHOOK_MAX_RESPONSE_BYTES = 1000
    with webhook_receiver(["redirect", "huge"]) as receiver:
        hook = subscribe(admin, receiver.url, ["profile.created"])
        writer.post("/api/v1/profiles", {"user_id": "r1"}, format="json")
        writer.post("/api/v1/profiles", {"user_id": "r2"}, format="json")
        first, second = deliver_pending(hook["id"])
        assert len(receiver.received) == 2
    assert (first.state, first.status_code, first.error) == ("failed", 302, "HTTP 302")
    assert second.state == "delivered" and len(second.response_excerpt) <= 1000


def test_ten_failed_events_in_a_row_disable_the_webhook(admin, writer, settings):
    settings.WEBHOOK_MAX_ATTEMPTS = 2
    with webhook_receiver(default=500) as receiver:
        hook = subscribe(admin, receiver.url, ["profile.*"])
        for n in range(10):
            writer.post("/api/v1/profiles", {"user_id": f"f{n}"}, format="json")
            (attempt,) = [d for d in pending(hook["id"]) if d.attempt == 1]
            delivery_attempt(delivery_id=attempt.pk)
            assert Webhook.objects.get(pk=hook["id"]).is_active is (n < 9)
        webhook = Webhook.objects.get(pk=hook["id"])
        assert webhook.consecutive_failures == 10 and webhook.disabled_at is not None
        assert not pending(hook["id"])  # the retries still due are dropped
        disabled = Event.objects.get(type="webhook.disabled")
        assert (disabled.actor, disabled.subject_kind, disabled.subject_id) == (
            "system:webhooks",
            "webhook",
            str(hook["id"]),
        )
        assert disabled.data["reason"] == "consecutive_failures"
        writer.post("/api/v1/profiles", {"user_id": "after"}, format="json")
        assert not pending(hook["id"]) and len(receiver.received) == 10
    stats = admin.get("/api/v1/webhooks/stats").json()[0]
    assert stats["disabled_at"] is not None and stats["failed"] == 10 and stats["is_active"] is False
    revived = admin.patch(f"/api/v1/webhooks/{hook['id']}", {"is_active": True}, format="json").json()
    assert revived["is_active"] is True and revived["consecutive_failures"] == 0


def test_a_host_whose_address_changes_after_the_save_is_refused_at_delivery(admin, writer, settings, monkeypatch):
    settings.WEBHOOK_ALLOWED_HOSTS = []
    answers = {"hooks.example.test": "93.184.216.34"}
    real = socket.getaddrinfo

    def resolver(host, port, *args, **kwargs):
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    hook = subscribe(admin, "http://hooks.example.test/in", ["profile.created"])  # public at save
    answers["hooks.example.test"] = "127.0.0.1"  # rebinding: now loopback
    writer.post("/api/v1/profiles", {"user_id": "rebind"}, format="json")
    before = outcome_count("refused")
    (delivery,) = deliver_pending(hook["id"])
    assert delivery.state == "failed" and delivery.status_code is None
    assert "127.0.0.1" in delivery.error and "loopback" in delivery.error
    assert outcome_count("refused") == before + 1


def test_the_connection_goes_to_the_address_that_was_checked(admin, writer, settings, monkeypatch):
    """One lookup per delivery; the request reaches the checked address with the URL's host in `Host`."""
    settings.WEBHOOK_ALLOWED_HOSTS = ["receiver.test"]
    lookups = []
    real = socket.getaddrinfo

    def resolver(host, port, *args, **kwargs):
        if host == "receiver.test":
            lookups.append(host)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with webhook_receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
        hook = subscribe(admin, f"http://receiver.test:{port}/hook?x=1", ["profile.created"])
        writer.post("/api/v1/profiles", {"user_id": "pinned"}, format="json")
        lookups.clear()
        (delivery,) = deliver_pending(hook["id"])
        (request,) = receiver.received
    assert delivery.state == "delivered" and lookups == ["receiver.test"]
    assert request.headers["Host"] == f"receiver.test:{port}" and request.path == "/hook?x=1"


def test_publishing_an_included_template_tells_its_includers(admin, writer, reader):
    writer.post(T, {"key": "header", "name": "H", "template": "Be kind."}, format="json")
    for key in ("lesson", "quiz"):
        body = {"key": key, "name": key, "template": '{% include "header" %} ' + key}
        assert writer.post(T, body, format="json").status_code == 201
    with webhook_receiver() as receiver:
        hook = subscribe(admin, receiver.url, ["template.published", "template.dependency_changed"])
        mark = last_event_id()
        writer.patch(f"{T}/header", {"template": "Be very kind."}, format="json")
        published = types_since(mark)
        assert published.count("template.published") == 1 and published.count("template.dependency_changed") == 2
        delivered = deliver_pending(hook["id"])
        bodies = [json.loads(r.body) for r in receiver.received]
    assert len(delivered) == 3 and all(d.state == "delivered" for d in delivered)
    changed = sorted((b["subject"]["id"], b["data"]["dependency"]) for b in bodies if b["type"] != "template.published")
    assert changed == [("lesson", "header"), ("quiz", "header")]
    history = reader.get(f"{T}/lesson/history").json()["results"]
    assert history[-1]["event"] == "dependency_changed" and history[-1]["data"]["cause"] == "published"


def test_a_rollback_reaches_includers_of_includers(writer):
    writer.post(T, {"key": "base", "name": "B", "template": "one"}, format="json")
    writer.post(T, {"key": "middle", "name": "M", "template": '{% include "base" %}!'}, format="json")
    writer.post(T, {"key": "top", "name": "T", "template": '{% include "middle" %}?'}, format="json")
    writer.post(T, {"key": "unrelated", "name": "U", "template": "alone"}, format="json")
    writer.patch(f"{T}/base", {"template": "two"}, format="json")
    mark = last_event_id()
    assert writer.post(f"{T}/base/versions/1/rollback").status_code == 200
    dependents = Event.objects.filter(pk__gt=mark, type="template.dependency_changed").order_by("subject_id")
    assert [(e.subject_id, e.data["via"], e.data["cause"]) for e in dependents] == [
        ("middle", "base", "rolled_back"),
        ("top", "middle", "rolled_back"),
    ]
