"""Demo learners for `seed_demo`: their profiles personalise the demo prompts and the generation history."""

from profiles.models import UserProfile
from profiles.services import profile_create
from promptconfig.workspaces.models import Workspace

DEMO_PROFILES = [
    {
        "user_id": "demo-ada",
        "username": "Ada",
        "email": "ada@example.com",
        "learning_style": "visual",
        "difficulty_level": "beginner",
        "preferred_subjects": ["biology", "astronomy"],
        "content_length_preference": "short",
        "example_preference": "practical",
        "format_preference": "structured",
        "preferred_time_of_day": "morning",
    },
    {
        "user_id": "demo-ben",
        "username": "Ben",
        "email": "ben@example.com",
        "learning_style": "reading",
        "difficulty_level": "advanced",
        "preferred_subjects": ["history", "philosophy"],
        "content_length_preference": "long",
        "example_preference": "theoretical",
        "format_preference": "technical",
        "preferred_time_of_day": "evening",
    },
    {
        "user_id": "demo-chloe",
        "username": "Chloé",
        "email": "chloe@example.com",
        "learning_style": "kinesthetic",
        "difficulty_level": "intermediate",
        "preferred_subjects": ["chemistry", "physics"],
        "content_length_preference": "medium",
        "example_preference": "practical",
        "format_preference": "conversational",
        "preferred_time_of_day": "afternoon",
    },
    {
        "user_id": "demo-dev",
        "username": "Dev",
        "email": "dev@example.com",
        "learning_style": "auditory",
        "difficulty_level": "intermediate",
        "preferred_subjects": ["music theory", "languages"],
        "content_length_preference": "medium",
        "example_preference": "mixed",
        "format_preference": "conversational",
    },
    {
        "user_id": "demo-emma",
        "username": "Emma",
        "email": "emma@example.com",
        "learning_style": "visual",
        "difficulty_level": "advanced",
        "preferred_subjects": ["mathematics", "computer science"],
        "language_preference": "de",
        "content_length_preference": "medium",
        "example_preference": "mixed",
        "format_preference": "technical",
        "preferred_time_of_day": "evening",
    },
    {
        "user_id": "demo-felix",
        "username": "Felix",
        "email": "felix@example.com",
        "learning_style": "reading",
        "difficulty_level": "beginner",
        "preferred_subjects": ["geography", "economics"],
        "language_preference": "de",
        "content_length_preference": "short",
        "example_preference": "practical",
        "format_preference": "structured",
        "preferred_time_of_day": "morning",
    },
]


def seed_profiles(*, workspace: Workspace) -> int:
    """Create the demo learners that do not exist yet; existing profiles are left alone."""
    existing = set(UserProfile.objects.filter(workspace=workspace).values_list("user_id", flat=True))
    created = 0
    for fields in DEMO_PROFILES:
        if fields["user_id"] not in existing:
            profile_create(workspace=workspace, actor="system:seed_demo", **fields)
            created += 1
    return created
