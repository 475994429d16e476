"""Security headers on real requests: HSTS and secure cookies behind a TLS proxy, Cache-Control on the API."""

import importlib.util
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
PROXY_SETTINGS = [
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
]
PASSWORD = "correct-horse-battery-staple"  # a throwaway test credential


def apply_settings_module(monkeypatch, settings, **env: str) -> None:
    """Run promptconfig/settings.py afresh under this environment and put its proxy settings in force."""
    for name in ("BEHIND_PROXY", "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    spec = importlib.util.spec_from_file_location("settings_under_test", ROOT / "promptconfig" / "settings.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for name in PROXY_SETTINGS:
        setattr(settings, name, getattr(module, name))


def log_in(client: Client, django_user_model, **headers: str):
    """Show the admin login form (sets the CSRF cookie), then log in through it (sets the session cookie)."""
    django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)
    form = client.get("/admin/login/", headers=headers)
    assert form.status_code == 200
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "root", "password": PASSWORD, "next": "/admin/"}, headers=headers
    )
    assert response.status_code == 302, response.content
    return form, response


@pytest.mark.django_db
def test_behind_proxy_an_https_request_gets_hsts_and_secure_cookies(monkeypatch, settings, django_user_model):
    apply_settings_module(monkeypatch, settings, BEHIND_PROXY="1")
    form, login = log_in(Client(), django_user_model, x_forwarded_proto="https")

    assert form.wsgi_request.is_secure()  # Django believes the proxy: the browser spoke https
    assert form["Strict-Transport-Security"] == "max-age=31536000"
    assert login["Strict-Transport-Security"] == "max-age=31536000"
    assert form.cookies["csrftoken"]["secure"] is True
    assert login.cookies["sessionid"]["secure"] is True
    assert login.cookies["sessionid"]["httponly"] is True
    assert login["Location"] == "/admin/"


@pytest.mark.django_db
def test_behind_proxy_hsts_can_cover_subdomains(monkeypatch, settings, django_user_model):
    apply_settings_module(monkeypatch, settings, BEHIND_PROXY="1", SECURE_HSTS_INCLUDE_SUBDOMAINS="1")
    response = Client().get("/admin/login/", headers={"x-forwarded-proto": "https"})
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"


@pytest.mark.django_db
def test_without_behind_proxy_local_http_works_and_a_forwarded_proto_is_not_trusted(
    monkeypatch, settings, django_user_model
):
    apply_settings_module(monkeypatch, settings)
    form, login = log_in(Client(), django_user_model, x_forwarded_proto="https")

    assert not form.wsgi_request.is_secure()
    assert "Strict-Transport-Security" not in form and "Strict-Transport-Security" not in login
    assert not form.cookies["csrftoken"]["secure"]
    assert not login.cookies["sessionid"]["secure"]


# --- Cache-Control on the API -------------------------------------------------------------------------
@pytest.mark.django_db
def test_api_answers_and_refusals_are_not_stored_by_any_cache(make_client, workspace, settings):
    client = make_client(workspace)
    assert client.get("/api/v1/templates").status_code == 200
    answers = {
        "a list": client.get("/api/v1/templates"),
        "a validation error": client.post("/api/v1/templates", {}, format="json"),
        "an unknown route": client.get("/api/v1/nothing-here"),
        "no key": Client().get("/api/v1/templates"),
        "the schema": Client().get("/api/schema/"),
    }
    settings.MAX_REQUEST_BYTES = 10
    answers["a refused body"] = client.post("/api/v1/templates", {"key": "x" * 100}, format="json")
    assert [response.status_code for response in answers.values()] == [200, 400, 404, 401, 200, 413]
    for what, response in answers.items():
        assert response["Cache-Control"] == "no-store", what


@pytest.mark.django_db
def test_prompt_data_keeps_its_own_cache_control(make_client, workspace):
    from templates_app.services import template_create

    template_create(workspace=workspace, actor="t", key="lesson", name="Lesson", template="Teach {{ topic }}.")
    client = make_client(workspace, scope="read")
    first = client.post("/api/v1/prompt-data", {"template_id": "lesson"}, format="json")
    assert first.status_code == 200, first.content
    assert first["Cache-Control"] == "private, max-age=300"
    again = client.post(
        "/api/v1/prompt-data", {"template_id": "lesson"}, format="json", HTTP_IF_NONE_MATCH=first["ETag"]
    )
    assert again.status_code == 304
    assert again["Cache-Control"] == "private, max-age=300"


def test_pages_outside_the_api_keep_their_own_cache_headers(client):
    assert "no-store" not in client.get("/metrics").get("Cache-Control", "")


def test_api_calls_skip_the_site_only_middleware(client, db):
    """No session cookie, frame options or CSP on API answers; the admin still gets all three."""
    api = client.get("/api/v1/templates")
    assert "sessionid" not in api.cookies and "csrftoken" not in api.cookies
    assert "X-Frame-Options" not in api and "Content-Security-Policy" not in api
    page = client.get("/admin/login/")
    assert page["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in page and "csrftoken" in page.cookies
