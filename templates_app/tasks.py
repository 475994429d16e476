from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded

from templates_app.bulk import bulk_job_run
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



@shared_task
def bulk_job_run_task(job_id: str) -> bool:
    """Run a bulk job for one time slice, then queue the rest. Acked late: a job whose worker died is delivered
    again and resumes at its first unprocessed item (each item's outcome is committed with its change)."""
    more = bulk_job_run(job_id)
    if more:
        bulk_job_run_task.delay(job_id)
    return more
