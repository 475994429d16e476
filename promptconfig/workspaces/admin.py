from django.contrib import admin, messages
from django.utils.html import format_html

from promptconfig.common.admin import admin_actor
from promptconfig.workspaces.models import ApiKey, Organization, Workspace
from promptconfig.workspaces.services import api_key_create, api_key_revoke, api_key_update


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "created_at"]
    search_fields = ["slug", "name"]


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "organization", "default_language", "created_at"]
    list_filter = ["organization"]
    search_fields = ["slug", "name"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "workspace", "scope", "is_active", "last_used_at", "created_at"]
    list_filter = ["scope", "workspace", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "workspace__slug"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        return [*self.readonly_fields, "workspace"] if obj else self.readonly_fields

    @admin.display(boolean=True, description="active")
    def is_active(self, obj: ApiKey) -> bool:
        return obj.is_active

    def save_model(self, request, obj: ApiKey, form, change: bool) -> None:
        if change:
            api_key_update(api_key=obj, name=obj.name, scope=obj.scope, actor=admin_actor(request))
            return
        created, plaintext = api_key_create(
            workspace=obj.workspace, name=obj.name, scope=obj.scope, actor=admin_actor(request)
        )
        obj.pk, obj.prefix, obj.created_at = created.pk, created.prefix, created.created_at
        obj._state.adding = False
        messages.warning(
            request,
            format_html(
                "New API key for “{}”: <code class='new-api-key'>{}</code> — copy it now, it will not be shown again.",
                created.name,
                plaintext,
            ),
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # keys are revoked, never deleted, so their use stays auditable

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke(self, request, queryset) -> None:
        active = list(queryset.filter(revoked_at__isnull=True))
        for api_key in active:
            api_key_revoke(api_key=api_key, actor=admin_actor(request))
        self.message_user(request, f"Revoked {len(active)} key(s).")
