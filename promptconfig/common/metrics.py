"""Every custom Prometheus metric of the API contract, registered once, here.

Under gunicorn and Celery the exporter runs in prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR,
created by docker/entrypoint.sh), so each process's samples are summed at scrape time; gauges say how.
"""

from django.conf import settings
from prometheus_client import Counter, Gauge, Histogram

_children: dict = {}


def child(metric, **labels):
    """`metric.labels(**labels)`, remembered: the hot path records a few samples on every request, and
    prometheus_client's `labels()` checks and converts its arguments on every call before finding the child.
    (Its children are never removed, so neither are these; a forked process's values reset themselves.)"""
    key = (metric, *labels.values())
    found = _children.get(key)
    if found is None:
        found = _children[key] = metric.labels(**labels)
    return found


prompt_generation_duration_seconds = Histogram(
    "prompt_generation_duration_seconds",
    "Time to resolve, render and log one prompt generation.",
    ["template_id"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
prompts_generated_total = Counter("prompts_generated_total", "Prompts generated.", ["template_id"])
# `workspace` is the workspace id (so GET /cache/stats answers for the caller's workspace only).
cache_hits_total = Counter("cache_hits_total", "Cache hits by cache type.", ["cache_type", "workspace"])
cache_misses_total = Counter("cache_misses_total", "Cache misses by cache type.", ["cache_type", "workspace"])
ab_test_participants_total = Counter(
    "ab_test_participants_total", "Users assigned to an A/B test variant.", ["test_id", "variant"]
)
# Render failures of the runtime (generate, batch, generate-prompt) by template key and the API error code
# (template_error, missing_variables, invalid_variables).
prompt_render_failures_total = Counter(
    "prompt_render_failures_total", "Prompt renders that failed, by template and error code.", ["template_id", "code"]
)
# The probe and drift metrics are by provider (and deployment) only: model ids are free-form (bounded by a
# pattern, not a list), so as a label they would grow the series without bound. Which model drifted is in the
# drift endpoint and the template's `model_drift` events. `service` and `env` (METRICS_SERVICE, METRICS_ENV)
# tell deployments apart when one Prometheus or Alertmanager watches several; both are fixed per process.
PROBE_LABELS = ("provider", "service", "env")


def probe_labels(provider: str) -> dict[str, str]:
    return {"provider": provider, "service": settings.METRICS_SERVICE, "env": settings.METRICS_ENV}


prompter_probe_attempts_total = Counter(
    "prompter_probe_attempts_total", "Provider model-version probes attempted.", PROBE_LABELS
)
prompter_probe_failures_total = Counter(
    "prompter_probe_failures_total", "Provider model-version probes that failed.", PROBE_LABELS
)
prompter_ensure_version_seconds = Histogram(
    "prompter_ensure_version_seconds", "Time to ensure a provider model version.", PROBE_LABELS
)
prompter_model_drift_total = Counter(
    "prompter_model_drift_total",
    "New provider model versions seen for a (template, provider, model) that had another.",
    PROBE_LABELS,
)

# Generation records waiting in the Redis queue (GENERATION_LOG_QUEUE), measured by every flush and scrape.
generation_log_backlog = Gauge(
    "generation_log_backlog",
    "Generation records waiting in the Redis queue to be stored.",
    multiprocess_mode="mostrecent",
)
# When a Celery worker last ran the heartbeat task beat schedules (promptconfig.heartbeat), Unix seconds.
worker_heartbeat_timestamp_seconds = Gauge(
    "promptconfig_worker_heartbeat_timestamp_seconds",
    "When a Celery worker last ran the heartbeat task.",
    multiprocess_mode="max",
)
# The GenerateLatencyHigh alert's threshold (ALERT_GENERATE_P95_SECONDS), exported so the rule reads it.
generate_p95_target_seconds = Gauge(
    "promptconfig_generate_p95_target_seconds",
    "The prompt generation p95 latency target the alert compares with (ALERT_GENERATE_P95_SECONDS).",
    multiprocess_mode="max",
)
generate_p95_target_seconds.set(settings.ALERT_GENERATE_P95_SECONDS)
# Calls to the LLM endpoint (refinements, the playground), by outcome: ok, error (502), timeout (504).
llm_requests_total = Counter("llm_requests_total", "Chat completions requested from the LLM endpoint.", ["outcome"])
llm_tokens_total = Counter("llm_tokens_total", "Tokens the LLM endpoint reported, prompt and completion.", ["kind"])
# Webhook delivery attempts by outcome: delivered, http_error, timeout, network_error, refused (SSRF guard).
webhook_deliveries_total = Counter("webhook_deliveries_total", "Webhook delivery attempts.", ["outcome"])
webhook_delivery_seconds = Histogram(
    "webhook_delivery_seconds",
    "Time of one webhook delivery attempt (resolve, connect, send, read the answer).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0),
)
