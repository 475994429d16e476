"""The base every API viewset builds on: the caller's workspace and actor, nothing else visible."""

import functools
import io
import time

from django.core.signals import setting_changed
from django.dispatch import receiver
from rest_framework import viewsets

from promptconfig.common.parsers import SafeJSONParser
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

    def validated_body(self, serializer_class) -> dict:
        """`validated(serializer_class, request.data)`, remembered per process for a small JSON body.

        A hot runtime caller sends the same few bodies again and again, and the same bytes always give the same
        data or the same error: parsing and validating look at nothing else. Parsing and validating cost a warm
        generate about a tenth of its CPU (tests/perf/README.md). The data is shared: callers must not change it."""
        request = self.request
        meta = request.META
        if meta.get("CONTENT_TYPE") == "application/json" and 0 < int(meta.get("CONTENT_LENGTH") or 0) <= MEMO_BODY:
            return _validated_json(serializer_class, request._request.body)
        return self.validated(serializer_class, request.data)


MEMO_BODY = 2048  # bytes: bodies up to this size are remembered, at most MEMO_BODIES of them
MEMO_BODIES = 512


@functools.lru_cache(maxsize=MEMO_BODIES)
def _validated_json(serializer_class, body: bytes) -> dict:
    data = SafeJSONParser().parse(io.BytesIO(body), "application/json", {})
    return WorkspaceScopedMixin.validated(serializer_class, data)


@receiver(setting_changed)
def _forget_bodies(**kwargs) -> None:
    _validated_json.cache_clear()  # limits such as MAX_JSON_DEPTH may have changed


class WorkspaceScopedViewSet(WorkspaceScopedMixin, viewsets.GenericViewSet):
    pass
