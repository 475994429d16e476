"""The base every API viewset builds on: the caller's workspace and actor, nothing else visible."""

import time

from rest_framework import viewsets

from promptconfig.common.query import check_query
from promptconfig.common.serializers import RequestSerializer
from promptconfig.workspaces.models import Workspace
from promptconfig.workspaces.throttling import charge_if_slow


class WorkspaceScopedMixin:
    """Gives views `self.workspace` and `self.actor` from the authenticated API key.

    Querysets must be built from `self.workspace`: another workspace's objects are 404.
    """

    def initial(self, request, *args, **kwargs):
        self.started = time.monotonic()
        super().initial(request, *args, **kwargs)
        if request.query_params:  # once the caller is known to be allowed: 401/403 come first
            check_query(self, request)

    def finalize_response(self, request, response, *args, **kwargs):
        if hasattr(self, "started"):
            charge_if_slow(request, self, self.started)
        return super().finalize_response(request, response, *args, **kwargs)

    @property
    def workspace(self) -> Workspace | None:
        # None only while the schema is generated without a caller; HasScope guarantees one otherwise.
        return getattr(self.request.user, "workspace", None)

    @property
    def actor(self) -> str:
        return getattr(self.request.user, "actor", "")

    @staticmethod
    def validated(serializer_class, data, **kwargs) -> dict:
        """Validate request data with a serializer; a failure is the API contract's 400 validation_error."""
        if not kwargs and issubclass(serializer_class, RequestSerializer):
            value = serializer_class.fast_validated(data)
            if value is not None:
                return value
        serializer = serializer_class(data=data, **kwargs)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


class WorkspaceScopedViewSet(WorkspaceScopedMixin, viewsets.GenericViewSet):
    pass
