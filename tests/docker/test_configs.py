"""The proxy, alert-rule and dashboard configs checked by their own tools (nginx -t, promtool) where installed."""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from promptconfig.common import metrics  # noqa: F401 - registers every metric

DOCKER = Path(__file__).resolve().parents[2] / "docker"


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_nginx_accepts_the_proxy_config(tmp_path):
    """`nginx -t` on docker/nginx.conf, the compose hostname `web` pointed at this machine (it does not resolve
    here) and the image's paths at a temporary folder."""
    config = (
        (DOCKER / "nginx.conf").read_text().replace("/tmp/", f"{tmp_path}/").replace("server web:", "server 127.0.0.1:")
    )
    config = config.replace("user nginx;", "")
    (tmp_path / "nginx.conf").write_text(config)
    result = subprocess.run(
        ["nginx", "-t", "-e", "stderr", "-c", str(tmp_path / "nginx.conf")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    text = (DOCKER / "nginx.conf").read_text()
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Host"):
        assert f"proxy_set_header {header} " in text
    for status, code in (
        (413, "payload_too_large"),
        (414, "uri_too_long"),
        (431, "headers_too_large"),
        (502, "bad_gateway"),
        (504, "gateway_timeout"),
    ):
        body = re.search(rf"return {status} '([^']*)'", text).group(1).removesuffix("\\n")
        assert json.loads(body)["error"]["code"] == code and set(json.loads(body)["error"]) == {
            "code",
            "message",
            "details",
        }


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed (apt-get install prometheus)")
def test_promtool_checks_the_rules_and_runs_their_unit_tests():
    checked = subprocess.run(["promtool", "check", "rules", str(DOCKER / "alerts.yml")], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(
        ["promtool", "test", "rules", str(DOCKER / "alerts.test.yml")], capture_output=True, text=True
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr
    # Every alert of the file has a test.
    alerts = {
        rule["alert"]
        for group in yaml.safe_load((DOCKER / "alerts.yml").read_text())["groups"]
        for rule in group["rules"]
    }
    tests = yaml.safe_load((DOCKER / "alerts.test.yml").read_text())["tests"]
    covered = {case["alertname"] for test in tests for case in test["alert_rule_test"]}
    assert (
        {
            "ApiErrorRateHigh",
            "GenerateLatencyHigh",
            "CacheHitRateLow",
            "GenerationLogBacklogGrowing",
            "WorkerHeartbeatMissing",
        }
        <= covered
        <= alerts
    )


def exported_names() -> set[str]:
    from prometheus_client import REGISTRY

    names = set()
    for family in REGISTRY.collect():
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_count", "_sum"]}.get(family.type, [""])
        names |= {family.name + suffix for suffix in suffixes}
    return names


def test_the_grafana_dashboard_is_provisioned_and_shows_what_the_service_exports(db, client):
    client.get("/health")  # the django_http_* metrics
    dashboard = json.loads((DOCKER / "grafana" / "dashboards" / "promptconfig.json").read_text())
    provider = yaml.safe_load((DOCKER / "grafana" / "provisioning" / "dashboards" / "promptconfig.yml").read_text())
    grafana = yaml.safe_load((DOCKER / "compose.yaml").read_text())["services"]["grafana"]
    assert f"./grafana/dashboards:{provider['providers'][0]['options']['path']}:ro" in grafana["volumes"]
    assert "./grafana/provisioning:/etc/grafana/provisioning:ro" in grafana["volumes"]
    exported = exported_names()
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    # A metric is what a function reads over a range, rate(x[5m]), or whole, max(x); labels sit in by (...).
    used = {name for expr in exprs for name in re.findall(r"[(\s]([a-z_]+)[\[)]", expr)}
    grouped = [labels for expr in exprs for labels in re.findall(r"by \(([a-z_, ]+)\)", expr)]
    used -= {label.strip() for labels in grouped for label in labels.split(",")}
    assert used and used <= exported, used - exported
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for topic in ("requests", "latency", "generated", "cache hit", "a/b", "probe", "backlog"):
        assert topic in titles, topic
