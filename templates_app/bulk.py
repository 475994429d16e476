"""Bulk operations over templates: a job of items, each validated and applied on its own through the same
service functions as the single-item endpoints (templates_app.services), so versions and history are the same.

Every processed item is written (`ok`, `error`) in the transaction that applies it, so a job resumed after its
worker died continues with the first unprocessed item and never applies one twice. A dry run applies every item
inside one transaction (each in its own savepoint, so later items see earlier ones) and rolls it all back.
"""

import logging
import time
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.utils import timezone
from rest_framework import serializers

from promptconfig.common.cache import forget
from promptconfig.common.errors import ApiError, Conflict, NotFound, ValidationFailed
from promptconfig.common.exceptions import known_error
from promptconfig.workspaces.models import Workspace
from templates_app import services
from templates_app.models import BulkItem, BulkJob
from templates_app.selectors import template_for_write, variants_cache_key
from templates_app.serializers import LANGUAGE_FIELD, TemplateWriteSerializer

logger = logging.getLogger("promptconfig.bulk")

Operation = BulkJob.Operation
MAX_ITEMS = 1000
MAX_CLASHES_NAMED = 20


class _Target(serializers.Serializer):
    key = serializers.RegexField(r"^[a-z0-9][a-z0-9_-]{0,99}$")
    language = serializers.RegexField(required=False, **LANGUAGE_FIELD)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = sorted(str(name) for name in data if name not in self.fields)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown[:20]})
        return super().to_internal_value(data)


class UpdateTagsItem(_Target):
    add = serializers.ListField(
        child=serializers.RegexField(r"^[^,\s][^,]{0,63}$"), required=False, max_length=50, default=list
    )
    remove = serializers.ListField(
        child=serializers.CharField(max_length=64), required=False, max_length=50, default=list
    )

    def validate(self, attrs):
        if not attrs["add"] and not attrs["remove"]:
            raise serializers.ValidationError({"add": ["Give tags to add or to remove."]})
        return attrs


class SetLifecycleItem(_Target):
    status = serializers.ChoiceField(choices=services.Status.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=2000, default="")


class PublishItem(_Target):
    version = serializers.IntegerField(min_value=1, max_value=2_147_483_647)


ITEM_SERIALIZERS: dict[str, type[serializers.Serializer]] = {
    Operation.CREATE: TemplateWriteSerializer,
    Operation.UPDATE_TAGS: UpdateTagsItem,
    Operation.SET_LIFECYCLE: SetLifecycleItem,
    Operation.PUBLISH: PublishItem,
    Operation.DELETE: _Target,
}


def _target_of(workspace: Workspace, operation: str, item: Any) -> tuple[str, str]:
    """The (key, language) an item names, as far as it can be read before validation ("" when it cannot)."""
    if not isinstance(item, dict):
        return "", ""
    key = item.get("key")
    if operation == Operation.CREATE and not key and isinstance(item.get("name"), str):
        try:
            key = services.key_from_name(item["name"])
        except ApiError:
            key = ""
    language = item.get("language")
    return (
        key if isinstance(key, str) else "",
        language if isinstance(language, str) and language else workspace.default_language,
    )


# --- jobs ----------------------------------------------------------------------------------------------------
@transaction.atomic
def bulk_job_create(*, workspace: Workspace, actor: str, operation: str, items: list, dry_run: bool = False) -> BulkJob:
    """Record a job and its items (queued). A job that changes templates a running job also changes is refused
    (409): two jobs over one template never interleave. The caller queues `bulk_job_run_task` after commit."""
    if len(items) > MAX_ITEMS:
        raise ValidationFailed(f"At most {MAX_ITEMS} items a job.", details={"items": [f"At most {MAX_ITEMS}."]})
    targets = [_target_of(workspace, operation, item) for item in items]
    named = sorted({target for target in targets if target[0]})
    if not dry_run:
        # One job is created at a time per workspace (a row lock that does not block other writes), so two
        # requests cannot both see no clash.
        Workspace.objects.select_for_update(no_key=True).filter(pk=workspace.pk).first()
        busy: set[tuple[str, str]] = set()
        running = BulkJob.objects.filter(workspace=workspace, dry_run=False, status__in=BulkJob.ACTIVE)
        for other in running.values_list("targets", flat=True):
            busy |= {tuple(target) for target in other}
        clashes = [target for target in named if target in busy]
        if clashes:
            names = [f"{key} ({language})" for key, language in clashes[:MAX_CLASHES_NAMED]]
            raise Conflict(
                f"A running bulk job already changes {len(clashes)} of these templates; retry when it has finished.",
                details={"templates": names},
            )
    job = BulkJob.objects.create(
        workspace=workspace,
        operation=operation,
        dry_run=dry_run,
        targets=[list(target) for target in named],
        total=len(items),
        created_by=actor,
    )
    BulkItem.objects.bulk_create(
        [
            BulkItem(job=job, index=index, key=key[:200], language=language[:16], payload=item)
            for index, (item, (key, language)) in enumerate(zip(items, targets, strict=True))
        ],
        batch_size=500,
    )
    return job


def _apply(job: BulkJob, payload: Any) -> None:
    """Validate one item and apply it through the single-item service. Raises what the endpoint would answer."""
    if not isinstance(payload, dict):
        raise ValidationFailed("An item must be a JSON object.", details={"item": ["Must be a JSON object."]})
    serializer = ITEM_SERIALIZERS[job.operation](data=payload)
    serializer.is_valid(raise_exception=True)
    data = dict(serializer.validated_data)
    workspace, actor = job.workspace, job.created_by
    if job.operation == Operation.CREATE:
        services.template_create(workspace=workspace, actor=actor, **data)
        return
    template = template_for_write(workspace=workspace, key=data["key"], language=data.get("language"))
    if job.operation == Operation.UPDATE_TAGS:
        current = list(template.tags.order_by("name").values_list("name", flat=True))
        removed = set(data["remove"])
        tags = [name for name in current if name not in removed]
        tags += [name for name in dict.fromkeys(data["add"]) if name not in tags and name not in removed]
        services.template_update(template, actor=actor, tags=tags)
    elif job.operation == Operation.SET_LIFECYCLE:
        services.template_set_lifecycle(template=template, status=data["status"], actor=actor, reason=data["reason"])
    elif job.operation == Operation.PUBLISH:
        services.version_publish(template=template, number=data["version"], actor=actor)
    elif job.operation == Operation.DELETE:
        services.template_delete(template=template, actor=actor)


def _error_of(exc: Exception) -> dict:
    known = known_error(exc)
    if known is None:
        logger.exception("bulk item failed unexpectedly")
        return {"code": "server_error", "message": "An internal error occurred.", "details": {}}
    return known[1]["error"]


def _record(item_id: int, job_id, *, ok: bool, error: dict | None) -> bool:
    """Mark an unprocessed item done and count it (inside the caller's transaction); False if it was done."""
    marked = BulkItem.objects.filter(pk=item_id, ok__isnull=True).update(
        ok=ok, error=error, processed_at=timezone.now()
    )
    if marked:
        BulkJob.objects.filter(pk=job_id).update(done=F("done") + 1, failed=F("failed") + (0 if ok else 1))
    return bool(marked)


def _process(job: BulkJob, item_id: int) -> None:
    try:
        with transaction.atomic():
            # Locked: a redelivered task running alongside waits here, then finds the item done and skips it.
            item = BulkItem.objects.select_for_update().filter(pk=item_id, ok__isnull=True).first()
            if item is None:
                return
            _apply(job, item.payload)
            _record(item_id, job.pk, ok=True, error=None)
    except SoftTimeLimitExceeded:  # the task's time is up, not the item's fault: it stays to do
        raise
    except Exception as exc:  # the item's change is rolled back; its failure is recorded on its own
        with transaction.atomic():
            if BulkItem.objects.select_for_update().filter(pk=item_id, ok__isnull=True).exists():
                _record(item_id, job.pk, ok=False, error=_error_of(exc))


class _RollBack(Exception):
    pass


def _dry_run(job: BulkJob) -> None:
    items = list(job.items.order_by("index").values_list("pk", "payload"))
    outcomes: list[tuple[int, bool, dict | None]] = []
    try:
        with transaction.atomic():
            for item_id, payload in items:
                try:
                    with transaction.atomic():
                        _apply(job, payload)
                    outcomes.append((item_id, True, None))
                except SoftTimeLimitExceeded:
                    raise
                except Exception as exc:
                    outcomes.append((item_id, False, _error_of(exc)))
            raise _RollBack
    except _RollBack:
        pass
    # Reads inside the rolled-back transaction may have cached rows that never existed.
    keys = {key for key, _ in job.targets}
    if keys:
        forget(*(variants_cache_key(job.workspace_id, key) for key in sorted(keys)))
    with transaction.atomic():
        for item_id, ok, error in outcomes:
            _record(item_id, job.pk, ok=ok, error=error)


def bulk_job_run(job_id, *, budget_seconds: float | None = None) -> bool:
    """Process a job's remaining items for up to `budget_seconds`; True when items remain (run it again)."""
    job = BulkJob.objects.select_related("workspace").filter(pk=job_id).first()
    if job is None or job.finished_at is not None:
        return False
    if job.status == BulkJob.Status.QUEUED:
        BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.QUEUED).update(
            status=BulkJob.Status.RUNNING, started_at=timezone.now()
        )
    budget = settings.BULK_JOB_SLICE_SECONDS if budget_seconds is None else budget_seconds
    deadline = time.monotonic() + budget
    if job.dry_run:
        _dry_run(job)
    else:
        pending = job.items.filter(ok__isnull=True).order_by("index").values_list("pk", flat=True)
        for item_id in list(pending[:MAX_ITEMS]):
            _process(job, item_id)
            if time.monotonic() > deadline:
                break
    if job.items.filter(ok__isnull=True).exists():
        return True
    _finish(job)
    return False


def _finish(job: BulkJob) -> None:
    counts = job.items.aggregate(done=Count("pk", filter=Q(ok__isnull=False)), failed=Count("pk", filter=Q(ok=False)))
    if counts["failed"] == 0:
        status = BulkJob.Status.SUCCEEDED
    elif counts["failed"] >= job.total:
        status = BulkJob.Status.FAILED
    else:
        status = BulkJob.Status.PARTIALLY_FAILED
    BulkJob.objects.filter(pk=job.pk, finished_at__isnull=True).update(
        status=status, finished_at=timezone.now(), **counts
    )


def bulk_job_abandon(job: BulkJob, *, reason: str) -> None:
    """A job that could not be queued: failed, so that it holds no template."""
    logger.error("bulk job %s could not be queued: %s", job.pk, reason)
    BulkJob.objects.filter(pk=job.pk, finished_at__isnull=True).update(
        status=BulkJob.Status.FAILED, finished_at=timezone.now()
    )


# --- reads ---------------------------------------------------------------------------------------------------
def bulk_job_list(*, workspace: Workspace) -> QuerySet[BulkJob]:
    processed = BulkItem.objects.filter(ok__isnull=False).order_by("index")
    return (
        BulkJob.objects.filter(workspace=workspace)
        .prefetch_related(Prefetch("items", queryset=processed))
        .order_by("-created_at", "-pk")
    )


def bulk_job_get(*, workspace: Workspace, job_id: str) -> BulkJob:
    job = bulk_job_list(workspace=workspace).filter(pk=job_id).first()
    if job is None:
        raise NotFound(f"No bulk job '{job_id}'.")
    return job
