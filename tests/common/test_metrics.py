"""/metrics: the contract's names, an optional token, and correct sums under gunicorn workers."""

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.servers import database_url_for_tests, gunicorn_server, scrape

CONTRACT_METRICS = [
    "prompt_generation_duration_seconds",
    "prompts_generated_total",
    "cache_hits_total",
    "cache_misses_total",
    "ab_test_participants_total",
    "prompter_probe_attempts_total",
    "prompter_probe_failures_total",
    "prompter_ensure_version_seconds",
]


def test_metrics_export_the_contract_names_and_django_metrics(client, db):
    from promptconfig.common import metrics

    metrics.prompts_generated_total.labels(template_id="t1").inc()
    client.get("/health")
    text = client.get("/metrics").content.decode()
    for name in CONTRACT_METRICS:
        assert f"# TYPE {name.removesuffix('_total')}" in text, name
    assert 'prompts_generated_total{template_id="t1"}' in text
    assert "django_http_requests_total_by_method_total" in text


def test_metrics_need_the_token_when_one_is_set(client, db, settings):
    settings.METRICS_TOKEN = "s3cret"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret").status_code == 200


def test_metrics_are_closed_without_a_token_unless_public(client, db, settings):
    settings.METRICS_TOKEN, settings.METRICS_PUBLIC = "", False  # the default with DEBUG off
    response = client.get("/metrics")
    assert response.status_code == 403 and response.json()["error"]["code"] == "permission_denied"
    assert "METRICS_TOKEN" in response.json()["error"]["message"]


def test_metrics_are_public_by_default_only_with_debug(monkeypatch):
    import subprocess
    import sys

    code = "from django.conf import settings; import django; django.setup(); print(settings.METRICS_PUBLIC)"
    for debug, expected in (("1", "True"), ("0", "False")):
        env = {
            "DJANGO_SETTINGS_MODULE": "promptconfig.settings",
            "DEBUG": debug,
            "SECRET_KEY": "k" * 40,
            "PATH": "/usr/bin:/bin",
        }
        result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
        assert result.stdout.strip() == expected


def _health_count(text: str) -> float:
    metric = "django_http_responses_total_by_status_view_method_total"
    pattern = metric + r'\{method="GET",status="200",view="health"\} (\S+)'
    match = re.search(pattern, text)
    return float(match.group(1)) if match else 0.0


@pytest.mark.postgres
def test_metrics_under_two_gunicorn_workers_sum_both_workers(transactional_db, tmp_path):
    multiproc_dir = tmp_path / "prometheus"
    env = {"DATABASE_URL": database_url_for_tests(), "PROMETHEUS_MULTIPROC_DIR": str(multiproc_dir)}
    requests = 120
    with gunicorn_server(env, workers=2, log_path=tmp_path / "gunicorn.log") as base:
        before = _health_count(scrape(base))
        with ThreadPoolExecutor(max_workers=6) as pool:
            statuses = list(pool.map(lambda _: httpx.get(f"{base}/health", timeout=10).status_code, range(requests)))
        assert statuses == [200] * requests
        # Both workers served some of them: each left its own sample files.
        pids = {path.stem.rsplit("_", 1)[1] for path in multiproc_dir.glob("counter_*.db")}
        assert len(pids) == 2, pids
        # Whichever worker answers the scrape, it reports the sum over both.
        scrapes = [_health_count(scrape(base)) for _ in range(6)]
        assert scrapes == [before + requests] * 6
