from typing import Any

from django.db import models
from rest_framework import serializers

from profiles.models import (
    ATTRIBUTE_KEY_MAX_LENGTH,
    LANGUAGE_VALIDATOR,
    SUBJECT_MAX_LENGTH,
    SUBJECTS_MAX_COUNT,
    UserProfile,
    validate_attributes,
)
from promptconfig.common.serializers import StrictBody

# Any printable id a client uses, but no '/': the id is a path segment of /profiles/{user_id}.
USER_ID_PATTERN = r"^(?!\.{1,2}$)[^/\x00-\x1f\x7f]+$"


def choice_field(choices: type[models.TextChoices]) -> serializers.ChoiceField:
    """An optional choice whose error names the allowed values."""
    allowed = ", ".join(choices.values)
    return serializers.ChoiceField(
        choices=choices.choices,
        required=False,
        error_messages={"invalid_choice": f'"{{input}}" is not a valid choice: one of {allowed}.'},
    )


class ProfileSerializer(serializers.ModelSerializer):
    """The profile representation (read side)."""

    email = serializers.CharField(read_only=True, help_text="an email address, or empty")

    class Meta:
        model = UserProfile
        fields = [
            "user_id",
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
            "total_sessions",
            "average_session_duration",
            "preferred_time_of_day",
            "last_active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class AttributesField(serializers.JSONField):
    """A JSON object whose keys are identifiers (they become template placeholders)."""

    openapi_schema = {
        "type": "object",
        "description": "keys are identifiers `^[A-Za-z_][A-Za-z0-9_]*$` (at most 100 characters); at most 16 KiB "
        "as compact JSON",
        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$", "maxLength": ATTRIBUTE_KEY_MAX_LENGTH},
        "additionalProperties": True,
    }

    def __init__(self, **kwargs):
        super().__init__(validators=[validate_attributes], **kwargs)

    def to_internal_value(self, data):
        data = super().to_internal_value(data)
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        return data


class SubjectsField(serializers.ListField):
    """A list of subject names; an item's errors become messages of the field (details = field -> [messages])."""

    def __init__(self, **kwargs):
        super().__init__(
            child=serializers.CharField(max_length=SUBJECT_MAX_LENGTH), max_length=SUBJECTS_MAX_COUNT, **kwargs
        )

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            if not isinstance(error.detail, dict):
                raise
            raise serializers.ValidationError(
                [f"Item {index}: {' '.join(map(str, messages))}" for index, messages in error.detail.items()]
            ) from None


class ProfileWriteSerializer(StrictBody, serializers.Serializer):
    """What a create (POST) or update (PUT/PATCH) may send. The session statistics are read-only.

    On an update, `user_id` comes from the URL (pass it as context["user_id"]): the body may repeat it
    but not change it.
    """

    also_accepted = frozenset(ProfileSerializer.Meta.fields)  # a representation sent back: read-only fields ignored

    user_id = serializers.RegexField(
        USER_ID_PATTERN,
        max_length=200,
        error_messages={"invalid": "May not contain '/' or control characters, nor be '.' or '..'."},
    )
    username = serializers.CharField(max_length=200, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=254, required=False, allow_blank=True)
    learning_style = choice_field(UserProfile.LearningStyle)
    preferred_subjects = SubjectsField(required=False)
    difficulty_level = choice_field(UserProfile.DifficultyLevel)
    language_preference = serializers.CharField(max_length=16, required=False, validators=[LANGUAGE_VALIDATOR])
    content_length_preference = choice_field(UserProfile.ContentLength)
    example_preference = choice_field(UserProfile.ExamplePreference)
    format_preference = choice_field(UserProfile.FormatPreference)
    attributes = AttributesField(required=False)
    preferred_time_of_day = serializers.CharField(max_length=50, required=False, allow_null=True, allow_blank=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.context.get("user_id") is not None:
            self.fields["user_id"].required = False

    def validate_preferred_time_of_day(self, value: str | None) -> str | None:
        return value or None  # "" and null both mean "not known"

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        url_user_id = self.context.get("user_id")
        body_user_id = attrs.pop("user_id", None) if url_user_id is not None else None
        if body_user_id is not None and body_user_id != url_user_id:
            raise serializers.ValidationError({"user_id": ["Cannot be changed: it is the one in the URL."]})
        return attrs


class SessionSerializer(StrictBody, serializers.Serializer):
    duration_seconds = serializers.FloatField(min_value=0, max_value=366 * 24 * 3600)

    def validate_duration_seconds(self, value: float) -> float:
        if isinstance(self.initial_data.get("duration_seconds"), bool):
            raise serializers.ValidationError("A valid number is required.")
        return value
