"""No Docker engine runs here: check the files that describe the deployment instead."""

import importlib.util
import runpy
import shlex
from pathlib import Path

import yaml

from promptconfig.celery import app as celery_app

DOCKER = Path(__file__).resolve().parents[2] / "docker"


def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def command_of(service: dict) -> str:
    command = service["command"]
    return command if isinstance(command, str) else shlex.join(command)


def test_compose_runs_every_service_of_the_deployment():
    services = compose()["services"]
    assert set(services) == {
        "migrate",
        "web",
        "worker",
        "beat",
        "proxy",
        "postgres",
        "redis",
        "prometheus",
        "alertmanager",
        "grafana",
    }
    assert command_of(services["migrate"]) == "python manage.py migrate --noinput"
    assert command_of(services["web"]) == "gunicorn -c docker/gunicorn.conf.py"
    assert command_of(services["worker"]).startswith("celery -A promptconfig worker")
    assert command_of(services["beat"]).startswith("celery -A promptconfig beat")
    for name in ("migrate", "web", "worker", "beat"):
        environment = services[name]["environment"]
        assert (
            environment["DATABASE_URL"].startswith("postgres://") and "@postgres:5432/" in environment["DATABASE_URL"]
        )
        assert environment["REDIS_URL"].startswith("redis://redis:6379")
        assert environment["CELERY_BROKER_URL"].startswith("redis://redis:6379")
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        if name != "migrate":  # only migrate migrates, before anything else starts
            assert "migrate" not in command_of(services[name])
            assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
            assert services[name]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert services["migrate"]["restart"] == "no"
    # Two web replicas behind the proxy, which alone publishes a port.
    assert services["web"]["deploy"]["replicas"] == 2 and "ports" not in services["web"]
    assert services["proxy"]["depends_on"]["web"]["condition"] == "service_healthy"
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in services["proxy"]["volumes"]


def test_each_service_has_its_own_healthcheck_and_state_lives_in_named_volumes():
    services = compose()["services"]
    checks = {name: services[name]["healthcheck"]["test"] for name in ("web", "worker", "beat", "proxy")}
    assert checks["web"] == ["CMD", "python", "-m", "promptconfig.healthcheck", "web"]
    assert checks["worker"] == ["CMD", "python", "-m", "promptconfig.healthcheck", "worker"]
    assert checks["beat"] == ["CMD", "python", "-m", "promptconfig.healthcheck", "beat"]
    assert services["beat"]["environment"]["BEAT_HEARTBEAT_FILE"].startswith("/tmp/")
    assert services["migrate"]["healthcheck"] == {"disable": True}
    volumes = compose()["volumes"]
    for service, mount in (
        ("postgres", "postgres-data:/var/lib/postgresql/data"),
        ("redis", "redis-data:/data"),
        ("prometheus", "prometheus-data:/prometheus"),
    ):
        assert mount in services[service]["volumes"] and mount.split(":")[0] in volumes
    # The broker and the generation-log queue survive a restart: Redis keeps an append-only file.
    assert command_of(services["redis"]).startswith("redis-server --appendonly yes")


def test_prometheus_scrapes_every_web_replica_and_every_worker_with_the_token():
    services = compose()["services"]
    prometheus = services["prometheus"]
    assert any(volume.startswith("./prometheus.yml:") for volume in prometheus["volumes"])
    config = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    web, worker = jobs["promptconfig-web"], jobs["promptconfig-worker"]
    assert web["metrics_path"] == "/metrics" and web["dns_sd_configs"] == [
        {"names": ["web"], "type": "A", "port": 8000}
    ]
    port = int(services["worker"]["environment"]["WORKER_METRICS_PORT"])
    assert worker["dns_sd_configs"] == [{"names": ["worker"], "type": "A", "port": port}]
    # /metrics needs METRICS_TOKEN with DEBUG off: compose gives web the token and Prometheus the same as a file.
    token_file = web["authorization"]["credentials_file"]
    assert web["authorization"]["type"] == "Bearer"
    assert {"source": "metrics_token", "target": token_file} in prometheus["configs"]
    assert compose()["configs"]["metrics_token"]["content"] == services["web"]["environment"]["METRICS_TOKEN"]
    # Alerts go to the compose file's Alertmanager.
    assert config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    alertmanager = yaml.safe_load((DOCKER / "alertmanager.yml").read_text())
    receivers = {receiver["name"] for receiver in alertmanager["receivers"]}
    assert alertmanager["route"]["receiver"] in receivers
    assert "./alertmanager.yml:/etc/alertmanager/alertmanager.yml:ro" in services["alertmanager"]["volumes"]


def test_the_image_leaves_out_the_virtualenv_the_local_database_and_git():
    ignored = (DOCKER.parent / ".dockerignore").read_text().splitlines()
    for pattern in (".git", ".venv", "var", "*.sqlite3", "**/__pycache__", ".env"):
        assert pattern in ignored, pattern


def test_the_entrypoint_creates_the_metrics_folder_before_the_command_runs(tmp_path):
    """Every process (migrate, worker, beat, not only gunicorn) needs the folder before its first metric; samples
    of an earlier run of the container are dropped."""
    import subprocess

    folder = tmp_path / "missing" / "prometheus"
    command = [
        str(DOCKER / "entrypoint.sh"),
        "sh",
        "-c",
        'ls -A "$PROMETHEUS_MULTIPROC_DIR"; echo "$PROMETHEUS_MULTIPROC_DIR"',
    ]
    env = {"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(folder)}
    for _ in range(2):
        result = subprocess.run(command, env=env, capture_output=True, text=True)
        assert result.returncode == 0 and result.stdout.splitlines() == [str(folder)]
        (folder / "counter_123.db").write_bytes(b"stale")


def test_the_image_is_slim_python_311_running_gunicorn_as_a_non_root_user():
    lines = [line.strip() for line in (DOCKER / "Dockerfile").read_text().splitlines()]
    assert lines[[line.startswith("FROM") for line in lines].index(True)].startswith("FROM python:3.11-slim")
    user = next(line for line in lines if line.startswith("USER "))
    assert user.split()[1] not in {"root", "0"}
    assert lines.index(user) > max(i for i, line in enumerate(lines) if line.startswith("RUN "))
    assert (
        next(line for line in lines if line.startswith("CMD [")) == 'CMD ["gunicorn", "-c", "docker/gunicorn.conf.py"]'
    )
    assert 'ENTRYPOINT ["/app/docker/entrypoint.sh"]' in lines


def test_the_gunicorn_config_serves_the_project_and_sums_metrics_over_workers():
    config = runpy.run_path(str(DOCKER / "gunicorn.conf.py"))
    module, _, attribute = config["wsgi_app"].partition(":")
    assert importlib.util.find_spec(module) is not None and attribute == "application"
    assert callable(config["child_exit"]) and callable(config["on_starting"])


def test_the_celery_app_is_configured_for_safe_redelivery():
    conf = celery_app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] > conf.task_time_limit
    assert isinstance(conf.beat_schedule, dict)


def test_the_alert_rules_of_the_probes():
    """promtool-free: the rules file parses, Prometheus loads it, and each rule is well formed and watches
    metrics (and labels) the service really exports."""
    import re

    from prometheus_client import REGISTRY

    from promptconfig.common import metrics

    config = yaml.safe_load((DOCKER / "prometheus.yml").read_text())
    assert config["rule_files"] == ["/etc/prometheus/alerts.yml"]
    assert "./alerts.yml:/etc/prometheus/alerts.yml:ro" in compose()["services"]["prometheus"]["volumes"]
    rules = {
        rule["alert"]: rule
        for group in yaml.safe_load((DOCKER / "alerts.yml").read_text())["groups"]
        if group["name"] == "promptconfig-probes"
        for rule in group["rules"]
    }
    assert {"HighProbeFailureRate", "ProbeStorm"} <= set(rules)
    rules = {name: rule for name, rule in rules.items() if "prompter_" in rule["expr"]}
    exported = {metric.name: metric for metric in REGISTRY.collect()}
    # By provider (and deployment) only: a free-form model id as a label would grow the series without bound.
    labels = {
        "prompter_probe_failures": {"provider", "service", "env"},
        "prompter_probe_attempts": {"provider", "service", "env"},
        "prompter_model_drift": {"provider", "service", "env"},
    }
    for counter in ("prompter_probe_attempts_total", "prompter_probe_failures_total", "prompter_model_drift_total"):
        assert getattr(metrics, counter)._labelnames == ("provider", "service", "env"), counter
    for name, rule in rules.items():
        expr = rule["expr"]
        assert expr.count("(") == expr.count(")") and expr.count("[") == expr.count("]"), name
        used = set(re.findall(r"\b(prompter_[a-z_]+)_total\b", expr))
        assert used and used <= set(exported) & set(labels), (name, used)
        for window in re.findall(r"\[(\w+)\]", expr):
            assert re.fullmatch(r"\d+[smhd]", window), (name, window)
        if "for" in rule:
            assert re.fullmatch(r"\d+[smhd]", rule["for"]), name
        assert rule["annotations"]["summary"] and rule["labels"]["severity"]
        for label in re.findall(r"\$labels\.(\w+)", str(rule["annotations"])):
            assert all(label in labels[metric] for metric in used), (name, label)
        for grouping in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr):
            grouped = {label.strip() for label in grouping.split(",") if label.strip()}
            assert all(grouped <= labels[metric] for metric in used), (name, grouped)
    failure = rules["HighProbeFailureRate"]
    assert "rate(prompter_probe_failures_total[5m])" in failure["expr"]
    assert "rate(prompter_probe_attempts_total[5m])" in failure["expr"]
    assert re.search(r">\s*0\.1\s*$", failure["expr"].strip()) and failure["for"] == "5m"
    storm = rules["ProbeStorm"]
    assert "rate(prompter_probe_attempts_total[1m])" in storm["expr"] and "* 60" in storm["expr"]
    assert re.search(r">\s*100\s*$", storm["expr"].strip()) and storm["for"] == "2m"


def test_every_way_of_installing_uses_requirements_txt_which_installs_the_client():
    requirements = (DOCKER.parent / "requirements.txt").read_text().splitlines()
    assert "-e ./client" in requirements  # the server imports promptconfig_client's engine
    assert "RUN pip install -r requirements.txt" in (DOCKER / "Dockerfile").read_text().splitlines()
    assert "pip install -q -r requirements.txt\n" in (DOCKER.parent / "Makefile").read_text()


def test_the_dockerfile_follows_the_usual_lint_rules():
    """A few of hadolint's rules, for what this Dockerfile does: a pinned base image, COPY not ADD, no pip cache,
    exec-form ENTRYPOINT, CMD and HEALTHCHECK (signals reach the process), requirements before the code (the
    dependency layer is reused), an executable entrypoint."""
    import json
    import os

    from tests.docker.stack import dockerfile_instructions

    instructions = dockerfile_instructions()
    names = [name for name, _ in instructions]
    arguments = {name: argument for name, argument in instructions}
    assert ":" in arguments["FROM"] and not arguments["FROM"].endswith(":latest")
    assert "ADD" not in names
    assert "PIP_NO_CACHE_DIR=1" in arguments["ENV"]
    for name in ("ENTRYPOINT", "CMD"):
        assert isinstance(json.loads(arguments[name]), list), name
    healthcheck = arguments["HEALTHCHECK"]
    assert isinstance(json.loads(healthcheck[healthcheck.index("CMD ") + 4 :]), list)
    steps = [f"{name} {argument}" for name, argument in instructions]
    copy_requirements, install, copy_code = (
        steps.index("COPY requirements.txt ./"),
        steps.index("RUN pip install -r requirements.txt"),
        steps.index("COPY . ."),
    )
    assert copy_requirements < install < copy_code
    assert os.access(DOCKER / "entrypoint.sh", os.X_OK)


def test_the_alert_rule_on_failing_webhook_deliveries():
    """The webhook group watches the delivery counter the service exports, by its one label."""
    import re

    from promptconfig.common import metrics

    (group,) = [g for g in yaml.safe_load((DOCKER / "alerts.yml").read_text())["groups"] if "webhooks" in g["name"]]
    (rule,) = group["rules"]
    assert rule["alert"] == "WebhookDeliveriesFailing" and re.fullmatch(r"\d+[smhd]", rule["for"])
    assert metrics.webhook_deliveries_total._labelnames == ("outcome",)
    assert set(re.findall(r"\b(webhook_[a-z_]+?)(?:_total)?\b", rule["expr"])) == {"webhook_deliveries"}
    assert set(re.findall(r"(\w+)\s*!?=", rule["expr"])) == {"outcome"}
    assert rule["expr"].count("(") == rule["expr"].count(")") and rule["annotations"]["summary"]
