"""Every custom Prometheus metric of the API contract, registered once, here.

Under gunicorn the exporter runs in prometheus_client's multiprocess mode (PROMETHEUS_MULTIPROC_DIR,
set by docker/gunicorn.conf.py), so each worker's samples are summed at scrape time.
"""

from prometheus_client import Counter, Histogram

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
# The probe and drift counters are by provider only: model ids are free-form (bounded by a pattern, not a
# list), so as a label they would grow the series without bound. Which model drifted is in the drift
# endpoint and the template's `model_drift` events.
prompter_probe_attempts_total = Counter(
    "prompter_probe_attempts_total", "Provider model-version probes attempted.", ["provider"]
)
prompter_probe_failures_total = Counter(
    "prompter_probe_failures_total", "Provider model-version probes that failed.", ["provider"]
)
prompter_ensure_version_seconds = Histogram(
    "prompter_ensure_version_seconds", "Time to ensure a provider model version.", ["provider"]
)
prompter_model_drift_total = Counter(
    "prompter_model_drift_total",
    "New provider model versions seen for a (template, provider, model) that had another.",
    ["provider"],
)
# Webhook delivery attempts by outcome: delivered, http_error, timeout, network_error, refused (SSRF guard).
webhook_deliveries_total = Counter("webhook_deliveries_total", "Webhook delivery attempts.", ["outcome"])
webhook_delivery_seconds = Histogram(
    "webhook_delivery_seconds",
    "Time of one webhook delivery attempt (resolve, connect, send, read the answer).",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0),
)
