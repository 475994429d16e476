"""Writes for tenancy and API keys."""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from promptconfig.workspaces.models import ApiKey, Organization, Workspace

KEY_PREFIX = "pc_"
# Recording every use would put a write on every request; once a minute is precise enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)
SCOPE_RANK = {ApiKey.Scope.READ: 1, ApiKey.Scope.WRITE: 2, ApiKey.Scope.ADMIN: 3}


def hash_api_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


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


def api_key_create(*, workspace: Workspace, name: str, scope: str) -> tuple[ApiKey, str]:
    """Create a key; return it with its plaintext, which is never stored and never shown again."""
    plaintext = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        workspace=workspace,
        name=name,
        scope=scope,
        prefix=plaintext[: len(KEY_PREFIX) + 8],
        hashed_key=hash_api_key(plaintext),
    )
    return api_key, plaintext


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


def api_key_mark_used(*, api_key: ApiKey) -> None:
    now = timezone.now()
    if api_key.last_used_at and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now
