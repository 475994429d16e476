"""Writes for tenancy and API keys."""

import hashlib
import secrets
import time

from django.db import transaction
from django.utils import timezone

from promptconfig.common.cache import forget
from promptconfig.events.services import record_event
from promptconfig.workspaces.models import ApiKey, Organization, Workspace

KEY_PREFIX = "pc_"
API_KEY_CACHE_TIMEOUT = 60
# Recording every use would put a write on every request; once a minute per process is enough.
LAST_USED_RESOLUTION_SECONDS = 60
_last_marked: dict[str, float] = {}
SCOPE_RANK = {ApiKey.Scope.READ: 1, ApiKey.Scope.WRITE: 2, ApiKey.Scope.ADMIN: 3}


def hash_api_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def api_key_cache_key(hashed_key: str) -> str:
    return f"apikey:{hashed_key}"


def _forget_cached(api_key: ApiKey) -> None:
    forget(api_key_cache_key(api_key.hashed_key))


def scope_allows(granted: str, required: str) -> bool:
    return SCOPE_RANK[granted] >= SCOPE_RANK[required]


@transaction.atomic
def workspace_get_or_create(*, slug: str, name: str = "", default_language: str = "en") -> Workspace:
    """The workspace with this slug, created (with an organization of the same slug) if missing."""
    existing = Workspace.objects.filter(slug=slug).first()
    if existing:
        return existing
    organization, _ = Organization.objects.get_or_create(slug=slug, defaults={"name": name or slug})
    return Workspace.objects.create(
        organization=organization, slug=slug, name=name or slug, default_language=default_language
    )


def _record(api_key: ApiKey, type: str, actor: str, **data) -> None:
    record_event(
        workspace=api_key.workspace_id, type=type, actor=actor, subject_kind="api_key", subject_id=api_key.pk, data=data
    )


@transaction.atomic
def api_key_create(*, workspace: Workspace, name: str, scope: str, actor: str = "system") -> tuple[ApiKey, str]:
    """Create a key; return it with its plaintext, which is never stored and never shown again."""
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        workspace=workspace,
        name=name,
        scope=scope,
        prefix=plaintext[: len(KEY_PREFIX) + 8],
        hashed_key=hash_api_key(plaintext),
    )
    _record(api_key, "api_key.created", actor, name=name, scope=scope, prefix=api_key.prefix)
    return api_key, plaintext


@transaction.atomic
def api_key_update(*, api_key: ApiKey, name: str, scope: str, actor: str = "system") -> ApiKey:
    api_key.name, api_key.scope = name, scope
    api_key.save(update_fields=["name", "scope"])
    _record(api_key, "api_key.updated", actor, name=name, scope=scope)
    _forget_cached(api_key)
    return api_key


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey, actor: str = "system") -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        _record(api_key, "api_key.revoked", actor, name=api_key.name)
        _forget_cached(api_key)
    return api_key


def api_key_mark_used(*, api_key: ApiKey) -> None:
    now = time.monotonic()
    if now - _last_marked.get(api_key.hashed_key, float("-inf")) < LAST_USED_RESOLUTION_SECONDS:
        return
    _last_marked[api_key.hashed_key] = now
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=timezone.now())
