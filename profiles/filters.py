import django_filters

from profiles.models import UserProfile


class ProfileFilter(django_filters.FilterSet):
    """List filters of the API contract."""

    learning_style = django_filters.ChoiceFilter(choices=UserProfile.LearningStyle.choices)
    difficulty_level = django_filters.ChoiceFilter(choices=UserProfile.DifficultyLevel.choices)
    language_preference = django_filters.CharFilter()

    class Meta:
        model = UserProfile
        fields = ["learning_style", "difficulty_level", "language_preference"]
