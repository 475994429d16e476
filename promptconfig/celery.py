"""The Celery app. Configuration lives in settings under the CELERY_ namespace.

Beside the apps' tasks it runs the processes' own observability:
- a worker with WORKER_METRICS_PORT exports its metrics there (prometheus_client's multiprocess mode sums the
  pool's processes), and marks a pool process dead when it exits;
- `promptconfig.heartbeat`, scheduled by beat, records when a worker last ran a task (the alerts watch it);
- beat touches BEAT_HEARTBEAT_FILE whenever it sends a task (its container's healthcheck reads it);
- a lower CPU priority than the web service's (WORKER_NICENESS);
- OpenTelemetry tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set (promptconfig/common/tracing.py).
"""

import logging
import os
import time
from pathlib import Path

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "promptconfig.settings")

app = Celery("promptconfig")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

logger = logging.getLogger("promptconfig.celery")
_beat_heartbeat: Path | None = None


@app.task(name="promptconfig.heartbeat", ignore_result=True)
def heartbeat() -> float:
    from promptconfig.common import metrics

    now = time.time()
    metrics.worker_heartbeat_timestamp_seconds.set(now)
    return now


@signals.worker_init.connect
def _worker_metrics(**_) -> None:
    """The worker's main process serves /metrics for every process of its pool."""
    from django.conf import settings

    if settings.WORKER_METRICS_PORT:
        from prometheus_client import REGISTRY, CollectorRegistry, start_http_server

        registry = REGISTRY
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        start_http_server(settings.WORKER_METRICS_PORT, registry=registry)
        logger.info("worker metrics on port %s", settings.WORKER_METRICS_PORT)


@signals.worker_init.connect
def _lower_priority(**_) -> None:
    """Background work yields the CPU to the web service (WORKER_NICENESS); what the worker forks inherits it."""
    from django.conf import settings

    if settings.WORKER_NICENESS:
        try:
            os.nice(settings.WORKER_NICENESS)
        except OSError as exc:  # a sandbox may refuse even lowering one's priority: run as started
            logger.warning("could not lower the worker's CPU priority: %s", exc)


@signals.worker_process_shutdown.connect
def _pool_process_exit(pid=None, **_) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())


@signals.beat_init.connect
def _beat_started(**_) -> None:
    global _beat_heartbeat
    from django.conf import settings

    if settings.BEAT_HEARTBEAT_FILE:
        _beat_heartbeat = Path(settings.BEAT_HEARTBEAT_FILE)
        _beat_heartbeat.touch()


@signals.after_task_publish.connect
def _beat_sent(**_) -> None:
    if _beat_heartbeat is not None:  # only in the beat process
        _beat_heartbeat.touch()


def _tracing() -> None:
    from promptconfig.common import tracing

    tracing.configure()


# Workers and beat get tracing when they load the app (web processes get it from wsgi.py).
signals.worker_init.connect(lambda **_: _tracing(), weak=False)
signals.beat_init.connect(lambda **_: _tracing(), weak=False)
