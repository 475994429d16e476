import uuid

from django.db.models import Count, QuerySet

from abtests.models import ABTest
from promptconfig.common.errors import NotFound
from promptconfig.workspaces.models import Workspace


def ab_test_list(*, workspace: Workspace) -> QuerySet[ABTest]:
    return (
        ABTest.objects.filter(workspace=workspace)
        .select_related("template_a", "template_b", "version_a", "version_b")
        .annotate(participants=Count("assignments"))
        .order_by("-created_at", "-pk")  # Meta.ordering does not apply to a grouped query
    )


def ab_test_get(*, workspace: Workspace, test_id: str) -> ABTest:
    try:
        uuid.UUID(str(test_id))
    except ValueError:
        raise NotFound("No such A/B test.") from None
    test = ab_test_list(workspace=workspace).filter(pk=test_id).first()
    if test is None:
        raise NotFound("No such A/B test.")
    return test
