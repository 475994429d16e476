"""GET /health: database, cache and broker checks, plus the reports the apps contribute through
settings.HEALTH_REPORTS (the generation-log backlog when the queue is on). 503 only when the database is down."""

import logging
import time
import uuid

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

import promptconfig
from promptconfig.celery import app as celery_app

logger = logging.getLogger("promptconfig.health")

OK, ERROR, NOT_CONFIGURED = "ok", "error", "not_configured"


def check_database() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return OK
    except Exception as exc:  # any failure to reach the database is "down"
        logger.warning("health: database check failed: %s", exc)
        connection.close_if_unusable_or_obsolete()
        return ERROR


def check_cache() -> str:
    # The Redis cache ignores its own errors, so a round trip is the only honest check.
    probe_key, probe_value = f"health:{uuid.uuid4().hex}", "1"
    try:
        cache.set(probe_key, probe_value, timeout=5)
        found = cache.get(probe_key)
        cache.delete(probe_key)
    except Exception as exc:
        logger.warning("health: cache check failed: %s", exc)
        return ERROR
    return OK if found == probe_value else ERROR


# {broker url: (when it was checked, the result)}: a load balancer or scraper polling /health costs the broker
# one connection per process every HEALTH_BROKER_CHECK_SECONDS, not one per call.
_broker_checks: dict[str, tuple[float, str]] = {}


def check_broker() -> str:
    if celery_app.conf.task_always_eager:
        return NOT_CONFIGURED
    url, now = celery_app.conf.broker_write_url, time.monotonic()
    checked = _broker_checks.get(url)
    if checked is not None and now - checked[0] < settings.HEALTH_BROKER_CHECK_SECONDS:
        return checked[1]
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=celery_app.conf.broker_connection_timeout)
        result = OK
    except Exception as exc:
        logger.warning("health: broker check failed: %s", exc)
        result = ERROR
    _broker_checks[url] = (now, result)
    return result


@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    checks = {"database": check_database(), "cache": check_cache(), "broker": check_broker()}
    if checks["database"] == ERROR:
        status = "error"
    elif ERROR in checks.values():
        status = "degraded"
    else:
        status = "ok"
    body = {"status": status, "checks": checks, "version": promptconfig.__version__}
    for path in settings.HEALTH_REPORTS:
        report = import_string(path)()
        if report is not None:
            name, body[name], degraded = report
            if degraded and status == "ok":
                body["status"] = "degraded"
    return JsonResponse(body, status=503 if status == "error" else 200)
