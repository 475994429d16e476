from celery import shared_task

from templates_app.refinements import refinement_run


@shared_task
def refinement_run_task(refinement_id: int) -> str | None:
    """Ask the LLM for one refinement and store its checked proposal (or why it failed)."""
    refinement = refinement_run(refinement_id)
    return refinement.status if refinement else None
