from django.db.models import QuerySet

from promptconfig.workspaces.models import ApiKey, Workspace
from promptconfig.workspaces.services import hash_api_key


def api_key_for_plaintext(plaintext: str) -> ApiKey | None:
    """The active key matching this plaintext, with its workspace, in one query."""
    return (
        ApiKey.objects.select_related("workspace__organization")
        .filter(hashed_key=hash_api_key(plaintext), revoked_at__isnull=True)
        .first()
    )


def api_key_list(*, workspace: Workspace) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(workspace=workspace).order_by("-created_at", "-id")
