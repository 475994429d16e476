import json
import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from promptconfig.workspaces.models import Workspace

ATTRIBUTE_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")
ATTRIBUTE_KEY_MAX_LENGTH = 100
ATTRIBUTES_MAX_BYTES = 16 * 1024  # serialized as compact UTF-8 JSON
SUBJECT_MAX_LENGTH = 100
SUBJECTS_MAX_COUNT = 100
# The same shape as a template's language, so a preference can pick a template variant.
LANGUAGE_VALIDATOR = RegexValidator(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*\Z", "A language tag such as 'en' or 'pt-BR'.")


def validate_attributes(value: Any) -> None:
    """`attributes` is a JSON object of template placeholders: identifier-like keys, a bounded size."""
    if not isinstance(value, dict):
        raise ValidationError("Must be a JSON object.", code="not_an_object")
    bad_keys = [key for key in value if not ATTRIBUTE_KEY.match(key) or len(key) > ATTRIBUTE_KEY_MAX_LENGTH]
    if bad_keys:
        raise ValidationError(
            "Keys must be identifiers (letters, digits, '_', not starting with a digit; at most %(max)d characters): "
            "%(keys)s.",
            code="bad_key",
            params={"max": ATTRIBUTE_KEY_MAX_LENGTH, "keys": ", ".join(sorted(repr(key) for key in bad_keys)[:10])},
        )
    size = len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
    if size > ATTRIBUTES_MAX_BYTES:
        raise ValidationError(
            "Too large: %(size)d bytes as JSON, at most %(max)d.",
            code="too_large",
            params={"size": size, "max": ATTRIBUTES_MAX_BYTES},
        )


def validate_subjects(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(subject, str) for subject in value):
        raise ValidationError("Must be a list of strings.", code="not_a_list")
    if len(value) > SUBJECTS_MAX_COUNT:
        raise ValidationError("At most %(max)d subjects.", code="too_many", params={"max": SUBJECTS_MAX_COUNT})
    if any(not subject.strip() or len(subject) > SUBJECT_MAX_LENGTH for subject in value):
        raise ValidationError(
            "Each subject must be a non-blank string of at most %(max)d characters.",
            code="bad_subject",
            params={"max": SUBJECT_MAX_LENGTH},
        )


class UserProfile(models.Model):
    """How one of a workspace's end users likes to learn: the lowest-precedence prompt variables.

    `user_id` is the client's own id for the user (unique per workspace, never changed). The choice
    fields, `preferred_subjects` and every key of `attributes` become template variables
    (profiles.selectors.profile_variables); the session statistics are kept by profile_record_session.
    """

    class LearningStyle(models.TextChoices):
        VISUAL = "visual"
        AUDITORY = "auditory"
        KINESTHETIC = "kinesthetic"
        READING = "reading"

    class DifficultyLevel(models.TextChoices):
        BEGINNER = "beginner"
        INTERMEDIATE = "intermediate"
        ADVANCED = "advanced"

    class ContentLength(models.TextChoices):
        SHORT = "short"
        MEDIUM = "medium"
        LONG = "long"

    class ExamplePreference(models.TextChoices):
        THEORETICAL = "theoretical"
        PRACTICAL = "practical"
        MIXED = "mixed"

    class FormatPreference(models.TextChoices):
        STRUCTURED = "structured"
        CONVERSATIONAL = "conversational"
        TECHNICAL = "technical"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="profiles")
    user_id = models.CharField(max_length=200)
    username = models.CharField(max_length=200, blank=True, default="")
    email = models.EmailField(max_length=254, blank=True, default="")
    learning_style = models.CharField(max_length=16, choices=LearningStyle.choices, default=LearningStyle.VISUAL)
    preferred_subjects = models.JSONField(default=list, blank=True, validators=[validate_subjects])
    difficulty_level = models.CharField(
        max_length=16, choices=DifficultyLevel.choices, default=DifficultyLevel.INTERMEDIATE
    )
    language_preference = models.CharField(max_length=16, default="en", validators=[LANGUAGE_VALIDATOR])
    content_length_preference = models.CharField(
        max_length=16, choices=ContentLength.choices, default=ContentLength.MEDIUM
    )
    example_preference = models.CharField(
        max_length=16, choices=ExamplePreference.choices, default=ExamplePreference.PRACTICAL
    )
    format_preference = models.CharField(
        max_length=16, choices=FormatPreference.choices, default=FormatPreference.STRUCTURED
    )
    attributes = models.JSONField(default=dict, blank=True, validators=[validate_attributes])
    total_sessions = models.PositiveIntegerField(default=0)
    average_session_duration = models.FloatField(default=0.0, help_text="Seconds.")
    # null = not known; the API contract represents it as null rather than "".
    preferred_time_of_day = models.CharField(max_length=50, null=True, blank=True, default=None)  # noqa: DJ001
    last_active = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["workspace", "user_id"], name="profile_user_unique_per_workspace")
        ]
        ordering = ["user_id"]
        verbose_name = "user profile"

    def __str__(self) -> str:
        return self.user_id
