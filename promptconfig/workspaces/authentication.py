"""`Authorization: Bearer <api key>` authentication for the API."""

from dataclasses import dataclass

from rest_framework import HTTP_HEADER_ENCODING
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from promptconfig.common.ratelimit import scope_of_call
from promptconfig.workspaces.models import ApiKey, Workspace
from promptconfig.workspaces.selectors import api_key_for_plaintext
from promptconfig.workspaces.services import api_key_mark_used


@dataclass(frozen=True)
class ApiPrincipal:
    """The caller behind an API key, as `request.user`."""

    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False

    @property
    def workspace(self) -> Workspace:
        return self.api_key.workspace

    @property
    def scope(self) -> str:
        return self.api_key.scope

    @property
    def actor(self) -> str:
        """How this caller is named in histories: `api:<key name>`."""
        return f"api:{self.api_key.name}"


class ApiKeyAuthentication(BaseAuthentication):
    keyword = b"bearer"

    def authenticate(self, request):
        # DRF's get_authorization_header reads request.headers, which copies every header: META has the one needed.
        parts = request.META.get("HTTP_AUTHORIZATION", "").encode(HTTP_HEADER_ENCODING).split()
        if not parts:
            return None
        if parts[0].lower() != self.keyword or len(parts) != 2:
            raise AuthenticationFailed("Use 'Authorization: Bearer <api key>'.")
        try:
            plaintext = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise AuthenticationFailed("Invalid API key.") from None
        view = (getattr(request, "parser_context", None) or {}).get("view")
        rate_scope = scope_of_call(view, request.method) if view is not None else None
        api_key, request.rate_counted = api_key_for_plaintext(plaintext, rate_scope=rate_scope)
        if api_key is None:
            raise AuthenticationFailed("Invalid or revoked API key.")
        api_key_mark_used(api_key=api_key)
        return ApiPrincipal(api_key), api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
