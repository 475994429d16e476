"""Reads of user profiles, and the variables a profile contributes to a prompt (cached)."""

import hashlib
from typing import Any

from django.db.models import QuerySet

from profiles.models import UserProfile
from profiles.serializers import ProfileSerializer
from promptconfig.common.cache import read_through
from promptconfig.common.errors import NotFound
from promptconfig.common.variables import PROFILE_FIELDS
from promptconfig.workspaces.models import Workspace

VARIABLES_CACHE_TIMEOUT = 3600


def profile_list(*, workspace: Workspace) -> QuerySet[UserProfile]:
    return UserProfile.objects.filter(workspace=workspace).order_by("user_id")


def profile_get(*, workspace: Workspace, user_id: str) -> UserProfile:
    profile = profile_list(workspace=workspace).filter(user_id=user_id).first()
    if profile is None:
        raise NotFound(f"No profile for user '{user_id}'.")
    return profile


def profile_for_write(*, workspace: Workspace, user_id: str) -> UserProfile:
    """The profile a write applies to, locked for the caller's transaction."""
    profile = UserProfile.objects.select_for_update().filter(workspace=workspace, user_id=user_id).first()
    if profile is None:
        raise NotFound(f"No profile for user '{user_id}'.")
    return profile


def variables_cache_key(workspace_id: int, user_id: str) -> str:
    # Hashed: a client's user id may hold any characters and be long; cache keys may not.
    return f"profiles:{workspace_id}:{hashlib.sha1(user_id.encode('utf-8')).hexdigest()}"


def representation_cache_key(workspace_id: int, user_id: str) -> str:
    return variables_cache_key(workspace_id, user_id) + ":representation"


def profile_representation(*, workspace: Workspace, user_id: str) -> dict[str, Any]:
    """A profile as `GET /profiles/{user_id}` answers it, from the cache until the profile changes (every profile
    write drops it with the variables): a warm read costs no query and no serializer. NotFound without one.
    The dict may be shared (process-local cache): copy it to change it."""

    def load() -> dict[str, Any] | None:
        profile = profile_list(workspace=workspace).filter(user_id=user_id).first()
        return None if profile is None else dict(ProfileSerializer(profile).data)

    representation = read_through(
        representation_cache_key(workspace.pk, user_id), load, timeout=VARIABLES_CACHE_TIMEOUT, cache_type="profile"
    )
    if representation is None:
        raise NotFound(f"No profile for user '{user_id}'.")
    return representation


class ProfileVariables(dict):
    """A profile's prompt variables (a plain dict to its users); `found` is False when there was no profile
    and these are the defaults."""

    found = True


def default_variables() -> ProfileVariables:
    """What a user without a profile contributes: the model's defaults, no attributes."""
    # Plain values, not TextChoices members: the variables are JSON data for the engine and the cache key.
    defaults = {name: UserProfile._meta.get_field(name).get_default() for name in PROFILE_FIELDS}
    variables = ProfileVariables(
        {name: str(value) if isinstance(value, str) else value for name, value in defaults.items()}
    )
    variables.found = False
    return variables


def _variables_of(row: dict[str, Any]) -> ProfileVariables:
    """Every key of `attributes`, then the named fields over them: a named field wins a clash of names."""
    return ProfileVariables({**(row["attributes"] or {}), **{name: row[name] for name in PROFILE_FIELDS}})


def profile_variables(*, workspace_id: int, user_id: str) -> ProfileVariables:
    """The variables a user's profile contributes to a prompt, the lowest-precedence layer.

    Returns `learning_style, difficulty_level, language_preference, content_length_preference,
    example_preference, format_preference, preferred_subjects` plus every key of the profile's
    `attributes`. Where an attribute has the name of one of those fields, the named field wins:
    attributes add placeholders, they never override the profile's own fields. An unknown (or empty)
    `user_id` gets the model's defaults and no attributes (`found` is False then).

    Served from the cache (`profiles:{workspace_id}:{sha1(user_id)}`): one cache round trip when warm,
    one database query when cold; unknown users are cached too. Every profile write drops the entry
    (profiles.services.profile_forget). The dict returned may be shared (process-local cache): copy it to change it.
    """
    if not user_id:
        return default_variables()

    def load() -> ProfileVariables:
        row = (
            UserProfile.objects.filter(workspace_id=workspace_id, user_id=user_id)
            .values(*PROFILE_FIELDS, "attributes")
            .first()
        )
        return _variables_of(row) if row is not None else default_variables()

    variables = read_through(
        variables_cache_key(workspace_id, user_id), load, timeout=VARIABLES_CACHE_TIMEOUT, cache_type="profile"
    )
    return variables
