from celery import shared_task

from abtests.services import ab_test_analyze, ab_tests_due


@shared_task
def ab_test_analyze_task(test_id: str) -> bool:
    """Compute and store one test's results (idempotent: a redelivered run recomputes the same)."""
    return ab_test_analyze(test_id=test_id) is not None


@shared_task
def ab_tests_analyze_due_task() -> int:
    """Beat: one analysis task per running test (and per test completed since its last analysis)."""
    due = ab_tests_due()
    for test_id in due:
        ab_test_analyze_task.delay(test_id)
    return len(due)
