"""Ensure-version: record which exact model version a template runs on at a provider, and see drift.

template -> hour-bucket guard (Redis SET NX EX) -> probe -> race-safe upsert -> metrics -> drift event.
"""

import hashlib
import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from promptconfig.common import metrics
from promptconfig.common.cache import redis_connection
from promptconfig.common.errors import Conflict, GatewayTimeout, ValidationFailed
from promptconfig.events.services import record_event
from templates_app.model_config import MODEL_ID_RULE, PROVIDER_RULE, valid_model_id, valid_provider
from templates_app.models import PromptTemplate
from versions import probes
from versions.models import ProviderVersion

logger = logging.getLogger("promptconfig.versions")
WAIT_STEP_SECONDS = 0.05
DRIFT_ACTOR = "system:probe"
OTHER_PROVIDER = "other"


def provider_label(provider: str) -> str:
    """The metrics' `provider` label: a provider with a probe, else `other` (any name is accepted, so the
    label values must not follow the names). Model ids are no label at all, for the same reason."""
    return provider if provider in probes.HTTP_PROBES else OTHER_PROVIDER


@dataclass(frozen=True)
class Ensured:
    record: ProviderVersion
    created: bool  # this call stored a key never seen before for the (template, provider, model)
    probed: bool  # this call asked the provider (False: another probe of this hour answered)


# --- the hour-bucket guard -------------------------------------------------------------------------
def guard_key(template: PromptTemplate, provider: str, model_id: str, now: datetime) -> str:
    model = hashlib.sha1(model_id.encode()).hexdigest()[:16]  # model ids may hold ':' and be long
    bucket = now.strftime("%Y%m%d%H")
    scope = f"{template.workspace.organization_id}:{template.workspace_id}:{template.pk}"
    return f"probe-guard:{scope}:{provider}:{model}:{bucket}"


def _guard_acquire(key: str) -> bool:
    """SET NX EX: True when this caller may probe. With Redis unreachable, True: an outage never blocks
    a version capture (it only loses the storm protection for a while)."""
    if not settings.REDIS_URL:
        return cache.add(key, "1", settings.PROBE_GUARD_SECONDS)
    try:
        return bool(redis_connection().set(cache.make_key(key), "1", nx=True, ex=settings.PROBE_GUARD_SECONDS))
    except Exception as exc:  # any Redis failure: probe anyway
        logger.warning("probe guard unavailable, probing anyway: %s", exc)
        return True


def _guard_release(key: str) -> None:
    """After a failed probe or write: the next call may try again instead of waiting for the next hour.
    Never raises (it runs in a `finally`, where an error would hide the one being reported)."""
    try:
        cache.delete(key)
    except Exception as exc:  # the Redis backend ignores its own errors; be sure for any other
        logger.warning("probe guard %s not released: %s", key, exc)


# --- recording -------------------------------------------------------------------------------------
def _unique(template: PromptTemplate, provider: str, model_id: str, version_key: str) -> dict:
    return {
        "organization_id": template.workspace.organization_id,
        "workspace_id": template.workspace_id,
        "template_id": template.pk,
        "provider": provider,
        "model_id": model_id,
        "provider_version_key": version_key,
    }


def _insert_if_new(unique: dict, now: datetime) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on the unique constraint: the database decides who creates the row."""
    row = {**unique, "first_seen_at": now, "last_seen_at": now, "fingerprint_captured_at": now, "seen_count": 1}
    quote = connection.ops.quote_name
    columns = ", ".join(quote(name) for name in row)
    conflict = ", ".join(quote(name) for name in unique)
    sql = (
        f"INSERT INTO {quote(ProviderVersion._meta.db_table)} ({columns}) "
        f"VALUES ({', '.join(['%s'] * len(row))}) ON CONFLICT ({conflict}) DO NOTHING"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, list(row.values()))
        return cursor.rowcount == 1


@transaction.atomic
def version_record(
    *, template: PromptTemplate, provider: str, model_id: str, version_key: str, now: datetime
) -> tuple[ProviderVersion, bool]:
    """Upsert the (template, provider, model, key) row; a key new to a (template, provider, model) that had
    another is drift: a `model_drift` event in the template's history and the drift metric."""
    unique = _unique(template, provider, model_id, version_key)
    created = _insert_if_new(unique, now)
    if not created:
        ProviderVersion.objects.filter(**unique).update(
            last_seen_at=Greatest(F("last_seen_at"), now),
            fingerprint_captured_at=Coalesce(F("fingerprint_captured_at"), now),
            seen_count=F("seen_count") + 1,
        )
    record = ProviderVersion.objects.get(**unique)
    if created:
        previous = (
            ProviderVersion.objects.filter(template=template, provider=provider, model_id=model_id)
            .exclude(pk=record.pk)
            .order_by("-last_seen_at")
            .first()
        )
        if previous is not None:
            record_event(
                workspace=template.workspace_id,
                type="model_version.drift",
                actor=DRIFT_ACTOR,
                subject_kind="template",
                subject_id=template.key,
                subject_pk=template.pk,
                data={
                    "language": template.language,
                    **({"version": template.served_version.number} if template.served_version else {}),
                    "provider": provider,
                    "model_id": model_id,
                    "from": previous.provider_version_key,
                    "to": version_key,
                },
            )
            metrics.prompter_model_drift_total.labels(**metrics.probe_labels(provider_label(provider))).inc()
    return record, created


# --- ensure-version --------------------------------------------------------------------------------
def configured_model(template: PromptTemplate, provider: str) -> str:
    config = (template.served_version.model_config if template.served_version else None) or {}
    if config.get("provider", "").lower() == provider and config.get("model"):
        model = config["model"]
        if not valid_model_id(model):  # saved before model_config was checked like model_id
            raise Conflict(
                f"The served version's model_config has an invalid model: it must be {MODEL_ID_RULE}.",
                details={"model_config": [f"'model' must be {MODEL_ID_RULE}."]},
            )
        return model
    raise Conflict(
        "Give model_id: the template's model_config names no model for this provider.",
        details={"model_id": ["Required unless the served version's model_config has this provider."]},
    )


def _latest(template: PromptTemplate, provider: str, model_id: str) -> ProviderVersion | None:
    return ProviderVersion.objects.filter(template=template, provider=provider, model_id=model_id).first()


def ensure_version(*, template: PromptTemplate, provider: str, model_id: str | None = None) -> Ensured:
    """The provider version key this template's model runs on now, probed at most once an hour.

    A second call in the same hour (per organization, workspace, template, provider, model) answers the
    stored key without probing; one that arrives while the hour's first probe is still running waits
    for it. A failed probe is counted, frees the hour for a retry, and raises (502 / 504); so does any
    other failure after the hour was taken (the guard is released in a `finally`).
    """
    provider = provider.lower()
    # The API's serializer checks both already; the hourly task reads them from stored model_configs.
    if not valid_provider(provider):
        raise ValidationFailed(
            f"Invalid provider: {PROVIDER_RULE}.", details={"provider": [f"Must be {PROVIDER_RULE}."]}
        )
    if not model_id:
        model_id = configured_model(template, provider)
    elif not valid_model_id(model_id):
        raise ValidationFailed(
            f"Invalid model_id: {MODEL_ID_RULE}.", details={"model_id": [f"Must be {MODEL_ID_RULE}."]}
        )
    started = time.perf_counter()
    try:
        return _ensure(template, provider, model_id)
    finally:
        elapsed = time.perf_counter() - started
        metrics.prompter_ensure_version_seconds.labels(**metrics.probe_labels(provider_label(provider))).observe(
            elapsed
        )


def _ensure(template: PromptTemplate, provider: str, model_id: str) -> Ensured:
    now = timezone.now()
    key = guard_key(template, provider, model_id, now)
    deadline = time.monotonic() + settings.PROBE_TIMEOUT_SECONDS + 1
    while not _guard_acquire(key):
        stored = _latest(template, provider, model_id)
        if stored is not None:
            return Ensured(record=stored, created=False, probed=False)
        if time.monotonic() > deadline:
            raise GatewayTimeout("The probe of this model that is already running has not finished.")
        time.sleep(WAIT_STEP_SECONDS)
    recorded = False
    try:
        metrics.prompter_probe_attempts_total.labels(**metrics.probe_labels(provider_label(provider))).inc()
        try:
            version_key = probes.probe(provider, model_id)
        except Exception as exc:
            metrics.prompter_probe_failures_total.labels(**metrics.probe_labels(provider_label(provider))).inc()
            # The metrics name no model: the log does (the model id has passed the model-id rule).
            logger.warning("probe failed: template %s, %s/%s: %s", template.pk, provider, model_id, exc)
            raise
        record, created = version_record(
            template=template, provider=provider, model_id=model_id, version_key=version_key, now=timezone.now()
        )
        recorded = True
    finally:
        if not recorded:  # any failure, known or not: the next call may probe again this hour
            _guard_release(key)
    return Ensured(record=record, created=created, probed=True)


# --- reads -----------------------------------------------------------------------------------------
def provider_drift(template: PromptTemplate) -> list[dict]:
    """Per (provider, model) that has answered with more than one key: the current key and the earlier ones."""
    groups: dict[tuple[str, str], list[ProviderVersion]] = {}
    for record in ProviderVersion.objects.filter(template=template).order_by("first_seen_at", "pk"):
        groups.setdefault((record.provider, record.model_id), []).append(record)
    drift = []
    for (provider, model_id), records in groups.items():
        if len(records) < 2:
            continue
        current = max(records, key=lambda record: (record.last_seen_at, record.first_seen_at))
        drift.append(
            {
                "provider": provider,
                "model_id": model_id,
                "current_key": current.provider_version_key,
                "previous_keys": [r.provider_version_key for r in records if r.pk != current.pk],
                "changed_at": records[-1].first_seen_at,
                "keys_seen": len(records),
            }
        )
    return drift


def probe_targets() -> list[tuple[int, str, str]]:
    """(template id, provider, model) of every live, served, active template whose served version has a
    model_config: what the hourly job ensures."""
    templates = PromptTemplate.objects.filter(
        deleted_at__isnull=True,
        is_active=True,
        status__in=[PromptTemplate.Status.PUBLISHED, PromptTemplate.Status.DEPRECATED],
        served_version__isnull=False,
    ).values_list("pk", "served_version__model_config")
    return [
        (pk, config["provider"].lower(), config["model"])
        for pk, config in templates
        if isinstance(config, dict) and config.get("provider") and config.get("model")
    ]
