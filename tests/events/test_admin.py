"""The webhook admin in a real browser: a subscription's secret is shown once, a delivery is redelivered from the
delivery log; and the event log and deliveries pages for staff."""

import pytest
from selenium.webdriver.common.by import By
from standardwebhooks.webhooks import Webhook as Verifier

from profiles.services import profile_create
from promptconfig.events.delivery import delivery_attempt
from promptconfig.events.models import Event, Webhook, WebhookDelivery
from tests.support.browser import (
    admin_login,
    admin_messages,
    admin_run_action,
    open_page,
    select_by_value,
    submit,
    wait_for,
)
from tests.support.webhook_receiver import webhook_receiver

ADMIN_USERNAME = "root"
ADMIN_PASSWORD = "correct-horse-battery-staple"  # a throwaway test credential


@pytest.mark.browser
@pytest.mark.postgres
@pytest.mark.usefixtures("eager_tasks")  # the redelivery runs in the live server
def test_an_admin_subscribes_a_webhook_and_redelivers_an_event(
    transactional_db, live_server, browser, django_user_model, workspace
):
    django_user_model.objects.create_superuser(ADMIN_USERNAME, "root@example.com", ADMIN_PASSWORD)
    admin_login(browser, live_server.url, ADMIN_USERNAME, ADMIN_PASSWORD)
    with webhook_receiver() as receiver:
        open_page(browser, live_server.url, "/admin/events/webhook/add/")
        select_by_value(browser, "select#id_workspace", str(workspace.pk))
        wait_for(browser, "input#id_url").send_keys(receiver.url)
        wait_for(browser, "input#id_event_types").send_keys("profile.created, ab_test.*")
        submit(browser, "input[name=_save]")
        secret = wait_for(browser, "code.new-webhook-secret").text.strip()
        assert secret.startswith("whsec_"), admin_messages(browser)
        webhook = Webhook.objects.get()
        assert webhook.events == ["profile.created", "ab_test.*"] and webhook.created_by == f"admin:{ADMIN_USERNAME}"
        open_page(browser, live_server.url, f"/admin/events/webhook/{webhook.pk}/change/")
        assert secret not in browser.page_source  # shown that once only

        profile_create(workspace=workspace, user_id="u1", actor="t")
        receiver.wait_for(1, 10)
        delivery = WebhookDelivery.objects.get(webhook=webhook)
        assert delivery.state == "delivered"

        open_page(browser, live_server.url, "/admin/events/webhookdelivery/")
        assert "answer 200" not in browser.page_source and "delivered" in browser.page_source
        admin_run_action(browser, "Redeliver the selected deliveries' events", [str(delivery.pk)])
        assert any("Redelivery queued" in message for message in admin_messages(browser))
        first, second = receiver.wait_for(2, 10)
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert Verifier(secret).verify(second.body, second.headers)["subject"]["id"] == "u1"
    again = WebhookDelivery.objects.exclude(pk=delivery.pk).get()
    assert (again.state, again.attempt, again.event_id) == ("delivered", 1, delivery.event_id)
    open_page(browser, live_server.url, f"/admin/events/webhookdelivery/{again.pk}/change/")
    assert "answer 200" in browser.find_element(By.ID, "content").text
    open_page(browser, live_server.url, "/admin/events/event/?type=profile.created")
    assert "u1" in browser.find_element(By.ID, "result_list").text


def test_staff_browse_the_event_log_with_filters(admin_client, workspace):
    profile_create(workspace=workspace, user_id="u9", actor="t")
    page = admin_client.get("/admin/events/event/?type=profile.created&subject_kind=profile").content.decode()
    assert "u9" in page
    event = Event.objects.get(type="profile.created")
    detail = admin_client.get(f"/admin/events/event/{event.pk}/change/")
    assert detail.status_code == 200 and "profile.created" in detail.content.decode()
    assert admin_client.get("/admin/events/event/add/").status_code == 403


def test_a_failed_delivery_shows_its_status_and_answer(admin_client, workspace):
    with webhook_receiver([503]) as receiver:
        webhook = Webhook.objects.create(workspace=workspace, url=receiver.url, events=["*"], secret="whsec_QUJD")
        profile_create(workspace=workspace, user_id="u2", actor="t")
        delivery_attempt(delivery_id=WebhookDelivery.objects.get(webhook=webhook).pk)
    page = admin_client.get("/admin/events/webhookdelivery/").content.decode()
    assert "503" in page and "HTTP 503" in page
    failed = WebhookDelivery.objects.get(webhook=webhook, attempt=1)
    assert "answer 503" in admin_client.get(f"/admin/events/webhookdelivery/{failed.pk}/change/").content.decode()
