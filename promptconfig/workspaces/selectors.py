from django.db.models import QuerySet

from promptconfig.common.cache import local_peek, read_through, request_epochs, scope_of
from promptconfig.common.ratelimit import Counted, tally, window_for
from promptconfig.workspaces.models import ApiKey, Workspace
from promptconfig.workspaces.services import API_KEY_CACHE_TIMEOUT, api_key_cache_key, hash_api_key


def api_key_for_plaintext(plaintext: str, *, rate_scope: str | None = None) -> tuple[ApiKey | None, Counted | None]:
    """The active key matching this plaintext, with its workspace; and, with `rate_scope`, the key's call
    counted in that class's rate window (see promptconfig.common.ratelimit) when that cost nothing extra.

    Every API request asks this, so the key is cached (revoking or changing it drops the entry).
    Unknown keys are not cached: guessing must not fill the cache.
    """
    hashed_key = hash_api_key(plaintext)
    cache_key = api_key_cache_key(hashed_key)
    # The request's first cache read: fetch the epochs of the key and of its workspace, and count the call
    # against the key's rate limit, in one round trip (when this process knows the key already).
    known = local_peek(cache_key)
    window = window_for(known.pk, rate_scope) if known is not None and rate_scope else None
    count, penalty = request_epochs(
        scope_of(cache_key),
        *([str(known.workspace_id)] if known else []),
        tally=tally(known.pk, window) if window else None,
    )
    api_key = read_through(
        cache_key,
        lambda: ApiKey.objects.select_related("workspace__organization").filter(hashed_key=hashed_key).first(),
        timeout=API_KEY_CACHE_TIMEOUT,
    )
    if api_key is None or not api_key.is_active:
        return None, None
    counted = Counted(window.cache_key, count, penalty) if window and known.pk == api_key.pk else None
    return api_key, counted


def api_key_list(*, workspace: Workspace) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(workspace=workspace).order_by("-created_at", "-id")
