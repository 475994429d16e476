from django.db.models import QuerySet

from promptconfig.common.cache import local_peek, read_through, request_epochs, scope_of
from promptconfig.workspaces.models import ApiKey, Workspace
from promptconfig.workspaces.services import API_KEY_CACHE_TIMEOUT, api_key_cache_key, hash_api_key


def api_key_for_plaintext(plaintext: str) -> ApiKey | None:
    """The active key matching this plaintext, with its workspace.

    Every API request asks this, so the key is cached (revoking or changing it drops the entry).
    Unknown keys are not cached: guessing must not fill the cache.
    """
    hashed_key = hash_api_key(plaintext)
    cache_key = api_key_cache_key(hashed_key)
    # The request's first cache read: fetch the epochs of the key and of its workspace in one round trip.
    known = local_peek(cache_key)
    request_epochs(scope_of(cache_key), *([str(known.workspace_id)] if known else []))
    api_key = read_through(
        cache_key,
        lambda: ApiKey.objects.select_related("workspace__organization").filter(hashed_key=hashed_key).first(),
        timeout=API_KEY_CACHE_TIMEOUT,
    )
    return api_key if api_key is not None and api_key.is_active else None


def api_key_list(*, workspace: Workspace) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(workspace=workspace).order_by("-created_at", "-id")
