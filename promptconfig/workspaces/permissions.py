"""Scope checks: `read` < `write` < `admin`, as the API contract assigns them."""

from rest_framework.exceptions import NotAuthenticated, PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from promptconfig.workspaces.authentication import ApiPrincipal
from promptconfig.workspaces.services import scope_allows


def required_scope(view, method: str) -> str:
    """A view may name a scope per action (`action_scopes`) or for all of it (`required_scope`).

    Otherwise GET/HEAD/OPTIONS need `read` and every other method `write`.
    """
    action = getattr(view, "action", None)
    per_action = getattr(view, "action_scopes", {})
    if action in per_action:
        return per_action[action]
    if getattr(view, "required_scope", None):
        return view.required_scope
    return "read" if method in SAFE_METHODS else "write"


class HasScope(BasePermission):
    def has_permission(self, request, view) -> bool:
        if not isinstance(request.user, ApiPrincipal):
            raise NotAuthenticated("An API key is required: 'Authorization: Bearer <api key>'.")
        needed = required_scope(view, request.method)
        if not scope_allows(request.user.scope, needed):
            raise PermissionDenied(f"This needs an API key with the '{needed}' scope.")
        return True
