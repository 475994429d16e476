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
