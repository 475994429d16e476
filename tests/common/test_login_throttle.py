"""Admin logins are throttled per username and address (django-axes)."""

import json
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core.management import call_command
from django.db.models import F
from django.test import Client, RequestFactory

from promptconfig.common.login_throttle import client_ip, locked_out

USERNAME = "root"
PASSWORD = "correct-horse-battery-staple"  # a throwaway test credential


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(USERNAME, "root@example.com", PASSWORD)


def log_in(client: Client, password: str, **headers: str):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": USERNAME, "password": password, "next": "/admin/"},
        headers=headers,
    )


def logged_in(response) -> bool:
    return response.status_code == 302 and response["Location"] == "/admin/"


def lock_out(client: Client, **headers: str):
    """Four wrong passwords are answered by the form; the fifth locks the username out from this address."""
    for _ in range(4):
        response = log_in(client, "wrong", **headers)
        assert response.status_code == 200 and b"errornote" in response.content
    return log_in(client, "wrong", **headers)


@pytest.mark.django_db
def test_five_wrong_passwords_lock_out_even_the_right_one_until_a_reset(admin_user):
    client = Client()
    fifth = lock_out(client)
    assert fifth.status_code == 429
    assert b"Too many failed login attempts" in fifth.content and b"15 minute(s)" in fifth.content
    assert fifth["Retry-After"] == "900"

    refused = log_in(client, PASSWORD)
    assert refused.status_code == 429 and b"Too many failed login attempts" in refused.content
    assert "_auth_user_id" not in client.session
    assert client.get("/admin/").status_code == 302  # still sent to the login page

    # Another address is not locked out: failures count per username and address.
    assert logged_in(log_in(Client(REMOTE_ADDR="192.0.2.7"), PASSWORD))

    call_command("axes_reset", verbosity=0)
    assert logged_in(log_in(client, PASSWORD))
    assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_the_lockout_ends_after_the_cool_off(admin_user, settings):
    client = Client()
    assert lock_out(client).status_code == 429
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=14))
    assert log_in(client, PASSWORD).status_code == 429  # not yet (and this failure restarts the cool-off)
    AccessAttempt.objects.update(attempt_time=F("attempt_time") - timedelta(minutes=16))
    assert logged_in(log_in(client, PASSWORD))


@pytest.mark.django_db
def test_a_successful_login_starts_the_count_again(admin_user):
    client = Client()
    for _ in range(4):
        log_in(client, "wrong")
    assert logged_in(log_in(client, PASSWORD))
    client.logout()
    for _ in range(4):
        assert log_in(client, "wrong").status_code == 200
    assert logged_in(log_in(client, PASSWORD))


@pytest.mark.django_db
def test_behind_the_proxy_the_address_is_the_one_the_proxy_appended(admin_user, settings):
    settings.BEHIND_PROXY = True
    proxy = Client(REMOTE_ADDR="10.0.0.1")  # every request comes from the proxy
    assert lock_out(proxy, x_forwarded_for="198.51.100.4").status_code == 429
    # A client cannot escape by prepending an address of its own: the right-most entry is the proxy's.
    assert log_in(proxy, PASSWORD, x_forwarded_for="203.0.113.9, 198.51.100.4").status_code == 429
    # Another client behind the same proxy is not locked out.
    assert logged_in(log_in(proxy, PASSWORD, x_forwarded_for="198.51.100.5"))


def test_client_ip_trusts_x_forwarded_for_only_behind_the_proxy(settings):
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="1.2.3.4, 198.51.100.4")
    settings.BEHIND_PROXY = False
    assert client_ip(request) == "10.0.0.1"
    settings.BEHIND_PROXY = True
    assert client_ip(request) == "198.51.100.4"
    assert client_ip(RequestFactory().get("/", REMOTE_ADDR="10.0.0.1")) == "10.0.0.1"


def test_the_lockout_answer_is_json_under_the_api_and_says_when_there_is_no_cool_off(settings):
    api = locked_out(RequestFactory().post("/api/v1/anything"))
    assert api.status_code == 429 and api["Retry-After"] == "900"
    assert json.loads(api.content)["error"]["code"] == "rate_limited"

    settings.AXES_COOLOFF_TIME = None
    page = locked_out(RequestFactory().post("/admin/login/"))
    assert page.status_code == 429 and "Retry-After" not in page
    assert b"until an administrator resets them" in page.content
