"""The prompt variables every caller gets, whatever the template: a profile's named fields and the two defaults
derived for each call (the API's precedence rules: profile < context < custom_variables).

Profiles store them, the runtime fills them in, and the authors' review knows they need no declaring; they sit
here, below all three, so that none of those apps has to import another for them."""

# The named profile fields that are prompt variables.
PROFILE_FIELDS = (
    "learning_style",
    "difficulty_level",
    "language_preference",
    "content_length_preference",
    "example_preference",
    "format_preference",
    "preferred_subjects",
)
# Set on every call: `difficulty` (the profile's level unless the context says otherwise) and `content_type`.
DERIVED_VARIABLES = ("difficulty", "content_type")
PROFILE_VARIABLES = frozenset({*PROFILE_FIELDS, *DERIVED_VARIABLES})


def _profile_source():
    """The object settings.PROFILE_VARIABLES_SOURCE names (an app above the templates' provides it), or None."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    path = getattr(settings, "PROFILE_VARIABLES_SOURCE", "")
    return import_string(path) if path else None


def profile_user_ids(*, workspace_id: int, limit: int = 200) -> list[str]:
    """Users with a profile in the workspace (for an admin's "preview as user" choice), at most `limit`."""
    source = _profile_source()
    return source.user_ids(workspace_id=workspace_id, limit=limit) if source else []


def profile_prompt_variables(*, workspace_id: int, user_id: str) -> dict:
    """The variables a prompt for this user starts from (profile fields and derived defaults); NotFound (an
    ApiError) for a user without a profile, {} when no source is configured."""
    source = _profile_source()
    return source.variables(workspace_id=workspace_id, user_id=user_id) if source else {}
