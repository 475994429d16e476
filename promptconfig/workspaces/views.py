from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from promptconfig.workspaces.selectors import api_key_list
from promptconfig.workspaces.serializers import ApiKeyCreatedSerializer, ApiKeySerializer
from promptconfig.workspaces.services import api_key_create, api_key_revoke
from promptconfig.workspaces.viewsets import WorkspaceScopedViewSet


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, WorkspaceScopedViewSet):
    """API keys of the caller's workspace (admin scope). DELETE revokes; the row stays for audit."""

    required_scope = "admin"
    lookup_value_regex = r"\d+"
    serializer_class = ApiKeySerializer

    def get_queryset(self):
        return api_key_list(workspace=self.workspace)

    @extend_schema(request=ApiKeySerializer, responses={201: ApiKeyCreatedSerializer})
    def create(self, request):
        serializer = ApiKeySerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        api_key, plaintext = api_key_create(workspace=self.workspace, actor=self.actor, **serializer.validated_data)
        api_key.key = plaintext
        return Response(ApiKeyCreatedSerializer(api_key).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, pk=None):
        api_key_revoke(api_key=self.get_object(), actor=self.actor)
        return Response(status=status.HTTP_204_NO_CONTENT)
