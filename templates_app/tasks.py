from celery import shared_task

from templates_app.bulk import bulk_job_run


@shared_task
def bulk_job_run_task(job_id: str) -> bool:
    """Run a bulk job for one time slice, then queue the rest. Acked late: a job whose worker died is delivered
    again and resumes at its first unprocessed item (each item's outcome is committed with its change)."""
    more = bulk_job_run(job_id)
    if more:
        bulk_job_run_task.delay(job_id)
    return more
