import logging

from celery import shared_task

from promptconfig.common.errors import ApiError
from templates_app.models import PromptTemplate
from versions.services import ensure_version, probe_targets

logger = logging.getLogger("promptconfig.versions")


@shared_task
def ensure_version_task(template_id: int, provider: str, model_id: str) -> str | None:
    """Ensure one (template, provider, model); idempotent within the hour. A failed probe is logged and
    counted (the next hour tries again); the key is returned."""
    template = (
        PromptTemplate.objects.select_related("workspace", "served_version")
        .filter(pk=template_id, deleted_at__isnull=True)
        .first()
    )
    if template is None:
        return None
    try:
        return ensure_version(template=template, provider=provider, model_id=model_id).record.provider_version_key
    except ApiError as exc:
        logger.warning("ensure-version failed for template %s %s/%s: %s", template_id, provider, model_id, exc)
        return None


@shared_task
def ensure_versions_due_task() -> int:
    """Beat, hourly: one ensure-version task per (template, provider, model) of the published templates."""
    targets = probe_targets()
    for target in targets:
        ensure_version_task.delay(*target)
    return len(targets)
