"""Admin bases shared by the apps."""

from django.contrib import admin


class RecordAdmin(admin.ModelAdmin):
    """Rows only the service writes (assignments, events): browse and delete them, never add or edit."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyAdmin(RecordAdmin):
    """Rows that are history (versions, events, provider versions): browse only."""

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows shown under another object, never added, changed or deleted there."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def admin_actor(request) -> str:
    """How an admin user is named in the event log: `admin:<username>`."""
    return f"admin:{request.user.get_username()}"
