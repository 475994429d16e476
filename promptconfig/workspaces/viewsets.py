"""The base every API viewset builds on: the caller's workspace and actor, nothing else visible."""

from rest_framework import viewsets

from promptconfig.workspaces.models import Workspace


class WorkspaceScopedMixin:
    """Gives views `self.workspace` and `self.actor` from the authenticated API key.

    Querysets must be built from `self.workspace`: another workspace's objects are 404.
    """

    @property
    def workspace(self) -> Workspace | None:
        # None only while the schema is generated without a caller; HasScope guarantees one otherwise.
        return getattr(self.request.user, "workspace", None)

    @property
    def actor(self) -> str:
        return getattr(self.request.user, "actor", "")


class WorkspaceScopedViewSet(WorkspaceScopedMixin, viewsets.GenericViewSet):
    pass
