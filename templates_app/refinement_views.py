"""LLM refinements of a template: /api/v1/templates/{key}/refinements (write scope)."""

import logging

from django.db import transaction
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from kombu.exceptions import KombuError
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from promptconfig.workspaces.viewsets import WorkspaceScopedViewSet
from templates_app import refinements
from templates_app.models import Refinement
from templates_app.selectors import template_for_write, template_resolve
from templates_app.serializers import RefinementApplySerializer, RefinementCreateSerializer, RefinementSerializer
from templates_app.tasks import refinement_run_task

logger = logging.getLogger("promptconfig.refinements")
LANGUAGE_PARAM = OpenApiParameter("language", str, description="Language variant (falls back de-AT -> de -> default)")
QUEUED = inline_serializer(
    "RefinementQueued",
    {"id": serializers.IntegerField(), "status": serializers.ChoiceField(choices=["queued"])},
)


ID_PARAM = OpenApiParameter("id", int, OpenApiParameter.PATH, description="the refinement's id")


def _queue(refinement_id: int) -> None:
    """Queue the refinement's task; with the broker unreachable, the refinement fails at once (saying so)
    instead of waiting forever in `queued`."""
    try:
        refinement_run_task.delay(refinement_id)
    except KombuError:
        logger.exception("could not queue refinement %s", refinement_id)
        refinements.refinement_fail(
            refinement_id, "service_unavailable: The task queue is unavailable; start the refinement again."
        )


class RefinementViewSet(WorkspaceScopedViewSet):
    """An LLM's proposed revisions of a template's versions: start one, read them, apply one."""

    required_scope = "write"
    action_throttle_scopes = {"create": "expensive"}
    serializer_class = RefinementSerializer
    queryset = Refinement.objects.none()  # for the schema only: reads go through templates_app.refinements
    lookup_url_kwarg = "id"
    lookup_value_regex = r"[0-9]{1,18}"

    def _read(self, key: str):
        return template_resolve(
            workspace=self.workspace, key=key, language=self.request.query_params.get("language") or None
        )

    def _for_write(self, key: str):
        return template_for_write(
            workspace=self.workspace, key=key, language=self.request.query_params.get("language") or None
        )

    @extend_schema(parameters=[LANGUAGE_PARAM], request=RefinementCreateSerializer, responses={202: QUEUED})
    def create(self, request, key=None):
        data = self.validated(RefinementCreateSerializer, request.data)
        with transaction.atomic():
            refinement = refinements.refinement_start(template=self._for_write(key), actor=self.actor, **data)
            transaction.on_commit(lambda: _queue(refinement.pk))
        return Response({"id": refinement.pk, "status": refinement.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(parameters=[LANGUAGE_PARAM], responses=RefinementSerializer(many=True))
    def list(self, request, key=None):
        page = self.paginate_queryset(refinements.refinement_list(template=self._read(key)))
        return self.get_paginated_response(RefinementSerializer(page, many=True).data)

    @extend_schema(parameters=[ID_PARAM, LANGUAGE_PARAM], responses=RefinementSerializer)
    def retrieve(self, request, key=None, id=None):
        refinement = refinements.refinement_get(template=self._read(key), refinement_id=int(id))
        return Response(RefinementSerializer(refinement).data)

    @extend_schema(
        parameters=[ID_PARAM, LANGUAGE_PARAM], request=RefinementApplySerializer, responses=RefinementSerializer
    )
    @action(detail=True, methods=["post"])
    def apply(self, request, key=None, id=None):
        data = self.validated(RefinementApplySerializer, request.data or {})
        with transaction.atomic():
            template = self._for_write(key)
            refinement = refinements.refinement_apply(
                template=template, refinement_id=int(id), actor=self.actor, publish=data["publish"]
            )
        return Response(RefinementSerializer(refinement).data)
