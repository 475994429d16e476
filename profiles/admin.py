"""Profiles in the admin. Saves and deletes go through profiles.services, so the cached prompt
variables of a profile are dropped whatever changed it."""

from django.contrib import admin
from django.db.models import QuerySet

from profiles.models import UserProfile
from profiles.services import EDITABLE_FIELDS, profile_create, profile_delete, profile_update
from promptconfig.common.admin import admin_actor
from promptconfig.common.variables import PROFILE_FIELDS

SESSION_FIELDS = ("total_sessions", "average_session_duration", "last_active")


@admin.register(UserProfile)
class UserProfileAdmin(admin.ModelAdmin):
    list_display = (
        "user_id",
        "workspace",
        "username",
        "email",
        "learning_style",
        "difficulty_level",
        "language_preference",
        "total_sessions",
        "last_active",
    )
    list_filter = ("learning_style", "difficulty_level", "language_preference", "workspace")
    search_fields = ("user_id", "username", "email")
    list_select_related = ("workspace",)
    fieldsets = (
        (None, {"fields": ("workspace", "user_id", "username", "email")}),
        (
            "Preferences",
            {"fields": (*PROFILE_FIELDS, "preferred_time_of_day", "attributes")},
        ),
        ("Sessions", {"fields": (*SESSION_FIELDS, "created_at", "updated_at")}),
    )

    def get_readonly_fields(self, request, obj=None):
        fixed = ("workspace", "user_id") if obj is not None else ()  # the API never changes them either
        return (*fixed, *SESSION_FIELDS, "created_at", "updated_at")

    def save_model(self, request, obj: UserProfile, form, change: bool) -> None:
        if change:
            changed = {name: getattr(obj, name) for name in form.changed_data if name in EDITABLE_FIELDS}
            profile_update(profile=obj, actor=admin_actor(request), **changed)
            return
        values = {name: getattr(obj, name) for name in EDITABLE_FIELDS}
        created = profile_create(workspace=obj.workspace, user_id=obj.user_id, actor=admin_actor(request), **values)
        # What the admin's response and log read: the saved row.
        obj.pk, obj.created_at, obj.updated_at = created.pk, created.created_at, created.updated_at
        obj._state.adding, obj._state.db = False, created._state.db

    def delete_model(self, request, obj: UserProfile) -> None:
        profile_delete(profile=obj, actor=admin_actor(request))

    def delete_queryset(self, request, queryset: QuerySet[UserProfile]) -> None:
        for profile in queryset:
            profile_delete(profile=profile, actor=admin_actor(request))
