from django.db import transaction
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from profiles import services
from profiles.filters import ProfileFilter
from profiles.selectors import profile_for_write, profile_list, profile_representation
from profiles.serializers import ProfileSerializer, ProfileWriteSerializer, SessionSerializer
from promptconfig.common.errors import NotFound
from promptconfig.workspaces.viewsets import WorkspaceScopedViewSet

DELETED = {"success": True, "message": "Profile deleted successfully"}
DeletedSerializer = inline_serializer(
    "ProfileDeleted", fields={"success": serializers.BooleanField(), "message": serializers.CharField()}
)


def path_id(user_id: str) -> str:
    """The `user_id` of the path as a body's is read: spaces at either end trimmed (a profile created with
    `" u5 "` is `u5`, and generate finds it by either)."""
    return user_id.strip()


class ProfileViewSet(mixins.ListModelMixin, WorkspaceScopedViewSet):
    """User profiles of the caller's workspace, addressed by the client's own `user_id`."""

    serializer_class = ProfileSerializer
    filterset_class = ProfileFilter
    lookup_field = "user_id"
    lookup_value_regex = r"[^/]+"  # client ids hold '@', '.', ':', '|'…; a '/' cannot be addressed
    fast_path = True  # plain calls skip the generic dispatch (promptconfig/workspaces/fastpath.py)

    def get_queryset(self):
        return profile_list(workspace=self.workspace)

    @extend_schema(request=ProfileWriteSerializer, responses={201: ProfileSerializer})
    def create(self, request):
        data = self.validated(ProfileWriteSerializer, request.data)
        profile = services.profile_create(workspace=self.workspace, actor=self.actor, **data)
        return Response(ProfileSerializer(profile).data, status=status.HTTP_201_CREATED)

    def retrieve(self, request, user_id=None):
        return Response(profile_representation(workspace=self.workspace, user_id=path_id(user_id)))

    @extend_schema(request=ProfileWriteSerializer(partial=True))  # PUT keeps the fields it does not send
    def update(self, request, user_id=None):
        return self._update(request, user_id, partial=False)

    @extend_schema(request=ProfileWriteSerializer)
    def partial_update(self, request, user_id=None):
        return self._update(request, user_id, partial=True)

    def _update(self, request, user_id: str, *, partial: bool) -> Response:
        user_id = path_id(user_id)
        data = self.validated(ProfileWriteSerializer, request.data, partial=partial, context={"user_id": user_id})
        with transaction.atomic():
            profile = profile_for_write(workspace=self.workspace, user_id=user_id)
            services.profile_update(profile=profile, actor=self.actor, **data)
        return Response(ProfileSerializer(profile).data)

    @extend_schema(responses={200: DeletedSerializer})
    def destroy(self, request, user_id=None):
        with transaction.atomic():
            services.profile_delete(
                profile=profile_for_write(workspace=self.workspace, user_id=path_id(user_id)), actor=self.actor
            )
        return Response(DELETED)

    @extend_schema(request=SessionSerializer, responses=ProfileSerializer)
    @action(detail=True, methods=["post"])
    def sessions(self, request, user_id=None):
        data = self.validated(SessionSerializer, request.data)
        profile = services.profile_record_session(
            workspace=self.workspace, user_id=path_id(user_id), actor=self.actor, **data
        )
        return Response(ProfileSerializer(profile).data)

    def get_object(self):  # the default lookup is not used: reads go through the selectors
        raise NotFound()
