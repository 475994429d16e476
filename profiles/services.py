"""Writes to user profiles. Every write drops the profile's cached prompt variables."""

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.utils import timezone

from profiles.models import UserProfile
from profiles.selectors import representation_cache_key, variables_cache_key
from promptconfig.common.cache import forget
from promptconfig.common.errors import Conflict, NotFound, ValidationFailed
from promptconfig.events.services import record_event
from promptconfig.workspaces.models import Workspace

# What a client (or the admin) sets; the session statistics belong to profile_record_session.
EDITABLE_FIELDS = frozenset(
    {
        "username",
        "email",
        "learning_style",
        "preferred_subjects",
        "difficulty_level",
        "language_preference",
        "content_length_preference",
        "example_preference",
        "format_preference",
        "attributes",
        "preferred_time_of_day",
    }
)


def profile_forget(*, workspace_id: int, user_id: str) -> None:
    """Drop the cached variables and representation of a user, now and after commit (a reader may re-cache the
    old row)."""
    forget(variables_cache_key(workspace_id, user_id), representation_cache_key(workspace_id, user_id))


def _check_names(fields: dict[str, Any]) -> None:
    unknown = set(fields) - EDITABLE_FIELDS
    if unknown:
        raise TypeError(f"Not editable profile fields: {', '.join(sorted(unknown))}")


def _validate(profile: UserProfile) -> None:
    """The model's own rules (choices, lengths, attributes), whoever calls; uniqueness is checked on save."""
    try:
        profile.full_clean(exclude=["workspace"], validate_unique=False, validate_constraints=False)
    except DjangoValidationError as error:
        details = error.message_dict
        raise ValidationFailed(f"Invalid input: {', '.join(details)}.", details=details) from None


def _exists_conflict(user_id: str) -> Conflict:
    return Conflict(f"A profile for user '{user_id}' already exists.", details={"user_id": ["Already exists."]})


def _record(profile: UserProfile, type: str, actor: str, **data: Any) -> None:
    record_event(
        workspace=profile.workspace_id,
        type=type,
        actor=actor,
        subject_kind="profile",
        subject_id=profile.user_id,
        subject_pk=profile.pk,
        data=data,
    )


@transaction.atomic
def profile_create(*, workspace: Workspace, user_id: str, actor: str = "system", **fields: Any) -> UserProfile:
    """A new profile; fields not given take the model's defaults. 409 if the user already has one."""
    _check_names(fields)
    profile = UserProfile(workspace=workspace, user_id=user_id, **fields)
    _validate(profile)
    if UserProfile.objects.filter(workspace=workspace, user_id=user_id).exists():
        raise _exists_conflict(user_id)
    try:
        with transaction.atomic():  # a savepoint: a lost race leaves the caller's transaction usable
            profile.save(force_insert=True)
    except IntegrityError:
        raise _exists_conflict(user_id) from None
    _record(profile, "profile.created", actor, fields=sorted(fields))
    profile_forget(workspace_id=workspace.pk, user_id=user_id)  # it may be cached as unknown
    return profile


@transaction.atomic
def profile_update(*, profile: UserProfile, actor: str = "system", **changes: Any) -> UserProfile:
    """Set the given fields (PATCH and PUT alike) and save only those, so that a concurrent session
    count is never written back stale. `user_id` and the workspace never change."""
    _check_names(changes)
    if not changes:
        return profile
    for name, value in changes.items():
        setattr(profile, name, value)
    _validate(profile)
    profile.save(update_fields=[*changes, "updated_at"])
    _record(profile, "profile.updated", actor, fields=sorted(changes))
    profile_forget(workspace_id=profile.workspace_id, user_id=profile.user_id)
    return profile


@transaction.atomic
def profile_delete(*, profile: UserProfile, actor: str = "system") -> None:
    workspace_id, user_id = profile.workspace_id, profile.user_id
    _record(profile, "profile.deleted", actor)
    profile.delete()
    profile_forget(workspace_id=workspace_id, user_id=user_id)


@transaction.atomic
def profile_record_session(
    *, workspace: Workspace, user_id: str, duration_seconds: float, actor: str = "system"
) -> UserProfile:
    """Count one more session: total + 1, running mean of the durations, last_active = now.

    One UPDATE computes the new values from the row's current ones, so concurrent calls queue on the
    row lock and none is lost. Returns the profile as this update left it.
    """
    if not 0 <= duration_seconds < float("inf"):
        raise ValidationFailed(
            "duration_seconds must be a finite number >= 0.", details={"duration_seconds": ["A number >= 0."]}
        )
    # Milliseconds are precision enough; the running mean of sub-millisecond values such as 1e-320 would
    # underflow in PostgreSQL's double precision (an error there, not a zero).
    duration_seconds = round(duration_seconds, 3)
    now = timezone.now()
    profiles = UserProfile.objects.filter(workspace=workspace, user_id=user_id)
    updated = profiles.update(
        total_sessions=F("total_sessions") + 1,
        average_session_duration=F("average_session_duration")
        + (Value(float(duration_seconds)) - F("average_session_duration")) / (F("total_sessions") + 1),
        last_active=now,
        updated_at=now,
    )
    if not updated:
        raise NotFound(f"No profile for user '{user_id}'.")
    profile_forget(workspace_id=workspace.pk, user_id=user_id)
    profile = profiles.get()
    _record(profile, "profile.session_recorded", actor, duration_seconds=float(duration_seconds))
    return profile
