"""Settings come from the environment; malformed or unsafe configurations refuse to start."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from promptconfig.common.env import env_bool, env_int, env_list

ROOT = Path(__file__).resolve().parents[2]


def settings_in_subprocess(**env: str) -> subprocess.CompletedProcess:
    clean = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "SECRET_KEY", "DEBUG"}
    }
    script = (
        "import django; from django.conf import settings; django.setup(); "
        "print(settings.DATABASES['default']['ENGINE'], settings.CACHES['default']['BACKEND'], "
        "settings.CELERY_TASK_ALWAYS_EAGER, settings.DEBUG)"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "promptconfig.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


PROXY_SETTINGS = [
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
]


def settings_values(names: list[str], **env: str) -> dict:
    """The named settings as a fresh process reads them from this environment (JSON-encoded: tuples are lists,
    other types their str)."""
    clean = {
        key: value
        for key, value in os.environ.items()
        if key != "BEHIND_PROXY" and not key.startswith(("SECURE_", "SESSION_", "CSRF_", "AXES_"))
    }
    script = (
        "import json, django; from django.conf import settings; django.setup(); "
        f"print(json.dumps({{name: getattr(settings, name) for name in {names!r}}}, default=str))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "promptconfig.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_without_behind_proxy_local_http_keeps_plain_cookies_and_no_hsts():
    expected = {
        "SECURE_PROXY_SSL_HEADER": None,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
    }
    assert settings_values(PROXY_SETTINGS) == expected
    assert settings_values(PROXY_SETTINGS, BEHIND_PROXY="0") == expected
    # HSTS is only ever sent behind the proxy, whatever its own variable says.
    assert settings_values(PROXY_SETTINGS, SECURE_HSTS_SECONDS="60")["SECURE_HSTS_SECONDS"] == 0


def test_behind_proxy_trusts_x_forwarded_proto_and_turns_on_secure_cookies_and_hsts():
    assert settings_values(PROXY_SETTINGS, BEHIND_PROXY="1") == {
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
    }
    tuned = settings_values(
        PROXY_SETTINGS, BEHIND_PROXY="1", SECURE_HSTS_SECONDS="600", SECURE_HSTS_INCLUDE_SUBDOMAINS="1"
    )
    assert (tuned["SECURE_HSTS_SECONDS"], tuned["SECURE_HSTS_INCLUDE_SUBDOMAINS"]) == (600, True)


def test_login_throttling_is_configured_from_the_environment():
    names = ["AXES_FAILURE_LIMIT", "AXES_COOLOFF_TIME", "AXES_LOCKOUT_PARAMETERS"]
    assert settings_values(names) == {
        "AXES_FAILURE_LIMIT": 5,
        "AXES_COOLOFF_TIME": "0:15:00",
        "AXES_LOCKOUT_PARAMETERS": [["username", "ip_address"]],
    }
    tuned = settings_values(names, AXES_FAILURE_LIMIT="3", AXES_COOLOFF_MINUTES="90")
    assert (tuned["AXES_FAILURE_LIMIT"], tuned["AXES_COOLOFF_TIME"]) == (3, "1:30:00")
    assert settings_values(names, AXES_COOLOFF_MINUTES="0")["AXES_COOLOFF_TIME"] is None  # until axes_reset


def test_no_environment_is_the_embedded_default():
    result = settings_in_subprocess()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django_prometheus.db.backends.sqlite3",
        "django_prometheus.cache.backends.locmem.LocMemCache",
        "True",
        "True",
    ]


def test_service_urls_switch_on_postgres_redis_and_a_real_broker():
    result = settings_in_subprocess(
        DATABASE_URL="postgres://u@db:5432/x",
        REDIS_URL="redis://r:6379/0",
        CELERY_BROKER_URL="redis://r:6379/1",
        SECRET_KEY="k",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django_prometheus.db.backends.postgresql",
        "django_prometheus.cache.backends.redis.RedisCache",
        "False",
        "False",
    ]


def test_production_refuses_to_start_without_a_secret_key():
    result = settings_in_subprocess(DATABASE_URL="postgres://u@db:5432/x")
    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_a_malformed_value_refuses_to_start():
    result = settings_in_subprocess(MAX_REQUEST_BYTES="lots")
    assert result.returncode != 0
    assert "MAX_REQUEST_BYTES must be an integer" in result.stderr


@pytest.mark.parametrize(("raw", "expected"), [("1", True), ("true", True), ("off", False), ("0", False)])
def test_env_bool_reads_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("FLAG", raw)
    assert env_bool("FLAG") is expected


def test_env_helpers_reject_garbage(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("FLAG", "maybe")
    monkeypatch.setenv("NUMBER", "1.5")
    with pytest.raises(ImproperlyConfigured):
        env_bool("FLAG")
    with pytest.raises(ImproperlyConfigured):
        env_int("NUMBER", 0)
    monkeypatch.setenv("HOSTS", "a.example, b.example,")
    assert env_list("HOSTS", []) == ["a.example", "b.example"]
