from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from templates_app.refinements import refinement_fail, refinement_run


@shared_task
def refinement_run_task(refinement_id: int) -> str | None:
    """Ask the LLM for one refinement and store its checked proposal (or why it failed)."""
    try:
        refinement = refinement_run(refinement_id)
    except SoftTimeLimitExceeded:  # LLM_TIMEOUT above the task's soft limit: fail it rather than leave it running
        refinement_fail(refinement_id, "gateway_timeout: The refinement ran out of time (CELERY_TASK_SOFT_TIME_LIMIT).")
        return "failed"
    return refinement.status if refinement else None
