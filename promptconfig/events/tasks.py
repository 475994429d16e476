from celery import shared_task

from promptconfig.events.delivery import deliveries_due, delivery_attempt
from promptconfig.events.services import enqueue_deliveries, events_prune


@shared_task(acks_late=True, reject_on_worker_lost=True)
def webhook_deliver_task(delivery_id: int) -> str:
    """One delivery attempt. Acknowledged only once done: a worker killed mid-attempt leaves the message to be
    redelivered; an attempt another worker holds is tried again when its lease ends."""
    outcome = delivery_attempt(delivery_id=delivery_id)
    if outcome.state == "locked":
        enqueue_deliveries([delivery_id], countdown=outcome.retry_in)
    return outcome.state


@shared_task
def webhook_deliveries_sweep_task() -> int:
    """Beat: enqueue the attempts that are due and held by nobody (long backoffs, lost messages)."""
    due = deliveries_due()
    enqueue_deliveries(due)
    return len(due)


@shared_task
def events_prune_task() -> list[int]:
    """Beat, daily: drop events and deliveries past their retention."""
    return list(events_prune())
