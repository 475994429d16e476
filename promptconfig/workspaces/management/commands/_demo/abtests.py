"""A finished demo A/B test for `seed_demo`, so the admin's results page has something to show."""

import random
from datetime import timedelta

from django.utils import timezone

from abtests.models import ABTest, Assignment, MetricEvent
from abtests.services import ab_test_analyze, ab_test_create, variant_for
from promptconfig.workspaces.models import Workspace

DEMO_TEST = "Visual vs textual lessons (demo)"
DEMO_USERS = 400


def seed_ab_test(*, workspace: Workspace) -> bool:
    """Create the completed demo test once (400 users, textual slightly better); False if it exists."""
    if ABTest.objects.filter(workspace=workspace, name=DEMO_TEST).exists():
        return False
    test = ab_test_create(
        workspace=workspace,
        actor="system:seed_demo",
        name=DEMO_TEST,
        description="Seeded: does the textual lesson template teach better than the visual one?",
        template_a="content_gen_visual",
        template_b="content_gen_textual",
        target_metrics=["effectiveness", "rating"],
        status=ABTest.Status.DRAFT,
    )
    rng = random.Random(2026)
    assignments, events = [], []
    # Learners are taken in order, each in the variant the test routes them to, until both arms have half:
    # an even split whatever the test's (random) id, so the demo never shows a sample-ratio mismatch.
    per_arm = {"A": 0, "B": 0}
    for i in range(DEMO_USERS * 4):
        if len(assignments) == DEMO_USERS:
            break
        user = f"demo-learner-{i:04d}"
        variant = variant_for(test.pk, user, test.traffic_split)
        if per_arm[variant] == DEMO_USERS // 2:
            continue
        per_arm[variant] += 1
        assignments.append(Assignment(test=test, user_id=user, variant=variant))
        effectiveness = min(1.0, max(0.0, rng.gauss(0.60 if variant == "A" else 0.72, 0.15)))
        rating = min(5, max(1, round(rng.gauss(3.9 if variant == "A" else 4.1, 0.8))))
        events += [
            MetricEvent(test=test, user_id=user, variant=variant, metric="effectiveness", value=effectiveness),
            MetricEvent(test=test, user_id=user, variant=variant, metric="rating", value=rating),
        ]
    Assignment.objects.bulk_create(assignments)
    MetricEvent.objects.bulk_create(events)
    now = timezone.now()
    ABTest.objects.filter(pk=test.pk).update(
        status=ABTest.Status.COMPLETED, started_at=now - timedelta(days=14), expires_at=now, completed_at=now
    )
    ab_test_analyze(test_id=test.pk)
    return True
