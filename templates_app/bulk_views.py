"""Bulk jobs over templates, and prompts as code: export and import (routes under /api/v1/)."""

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from kombu.exceptions import KombuError
from rest_framework import mixins, status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.response import Response
from rest_framework.views import APIView

from promptconfig.common.errors import PayloadTooLarge, ServiceUnavailable, ValidationFailed
from promptconfig.workspaces.viewsets import WorkspaceScopedMixin, WorkspaceScopedViewSet
from templates_app.bulk import bulk_job_abandon, bulk_job_create, bulk_job_get, bulk_job_list
from templates_app.bulk_serializers import (
    BulkJobSerializer,
    BulkQueuedSerializer,
    BulkRequestSerializer,
    ExportQuerySerializer,
    ImportAnswerSerializer,
    ImportQuerySerializer,
)
from templates_app.exchange import MAX_KEYS, MEDIA_TYPES, dump_document, export_document
from templates_app.exchange_schema import EXPORTED, ImportDocumentSerializer
from templates_app.import_plan import import_document
from templates_app.tasks import bulk_job_run_task

UUID = r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


class BulkTemplatesView(WorkspaceScopedMixin, APIView):
    required_scope = "write"

    @extend_schema(
        request=BulkRequestSerializer,
        responses={202: BulkQueuedSerializer},
        operation_id="v1_bulk_templates_create",
    )
    def post(self, request):
        data = self.validated(BulkRequestSerializer, request.data)
        job = bulk_job_create(workspace=self.workspace, actor=self.actor, **data)
        try:
            bulk_job_run_task.delay(str(job.pk))  # committed: the service's transaction has ended
        except (OSError, KombuError) as exc:  # the broker is down: the job would never start (nor free its templates)
            bulk_job_abandon(job, reason=str(exc))
            raise ServiceUnavailable("The task queue is unavailable; the job was not started.") from None
        job.refresh_from_db(fields=["status"])
        return Response({"job_id": str(job.pk), "status": job.status}, status=status.HTTP_202_ACCEPTED)


class BulkJobViewSet(mixins.ListModelMixin, WorkspaceScopedViewSet):
    """The workspace's bulk jobs, newest first, with their progress and per-item results."""

    required_scope = "write"  # the contract puts bulk operations, import and export under `write`, reads too
    serializer_class = BulkJobSerializer
    filter_backends: list = []
    lookup_field = "id"
    lookup_value_regex = UUID

    def get_queryset(self):
        return bulk_job_list(workspace=self.workspace)

    def retrieve(self, request, id=None):
        return Response(BulkJobSerializer(bulk_job_get(workspace=self.workspace, job_id=id)).data)

    def get_object(self):  # reads go through bulk_job_get
        return None


def _no_blanks(request, *names: str) -> None:
    """An empty `?name=` is refused (DRF would read it as not given)."""
    blank = [name for name in names if request.query_params.get(name, None) == ""]
    if blank:
        raise ValidationFailed(
            f"Invalid input: {', '.join(blank)}.", details={name: ["May not be blank."] for name in blank}
        )


class _IgnoreFormat(DefaultContentNegotiation):
    """`?format=` chooses the export's format here, not DRF's renderer (errors are JSON either way)."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class ExportView(WorkspaceScopedMixin, APIView):
    required_scope = "write"
    content_negotiation_class = _IgnoreFormat
    throttle_scope = "expensive"

    @extend_schema(
        parameters=[
            OpenApiParameter("templates", str, description="comma list of keys (default: every template)"),
            OpenApiParameter("versions", str, enum=["served", "all"], description="served (default) or all"),
            OpenApiParameter("format", str, enum=["yaml", "json"], description="yaml (default) or json"),
        ],
        responses={
            (200, "application/yaml"): OpenApiResponse(EXPORTED, description="the YAML document"),
            (200, "application/json"): OpenApiResponse(EXPORTED, description="the JSON document"),
        },
        operation_id="v1_export_retrieve",
    )
    def get(self, request):
        _no_blanks(request, "versions", "format")
        query = self.validated(ExportQuerySerializer, request.query_params)
        keys = list(dict.fromkeys(key.strip() for key in query.get("templates", "").split(",") if key.strip()))
        if len(keys) > MAX_KEYS:
            raise ValidationFailed(
                f"At most {MAX_KEYS} keys in templates.", details={"templates": [f"At most {MAX_KEYS}."]}
            )
        document = export_document(workspace=self.workspace, keys=keys or None, versions=query["versions"])
        return HttpResponse(dump_document(document, query["format"]), content_type=MEDIA_TYPES[query["format"]])


class _DocumentParser(BaseParser):
    """The request body as bytes (parsed by the import itself, which names lines in its errors)."""

    def parse(self, stream, media_type=None, parser_context=None):
        limit = settings.MAX_REQUEST_BYTES
        raw = stream.read(limit + 1) if stream is not None else b""
        if len(raw) > limit:
            raise PayloadTooLarge(f"The request body exceeds {limit} bytes.")
        return {"raw": raw, "json": (media_type or "").split(";")[0].strip() == "application/json"}


class _JSONDocument(_DocumentParser):
    media_type = "application/json"


def _yaml_parser(name: str) -> type[_DocumentParser]:
    return type(f"_YAMLDocument{name.replace('/', '_').replace('-', '_')}", (_DocumentParser,), {"media_type": name})


class ImportView(WorkspaceScopedMixin, APIView):
    required_scope = "write"
    throttle_scope = "expensive"
    parser_classes = [_JSONDocument, *(_yaml_parser(name) for name in YAML_TYPES)]

    @extend_schema(
        parameters=[OpenApiParameter("dry_run", bool, description="plan only: change nothing")],
        request={"application/yaml": ImportDocumentSerializer, "application/json": ImportDocumentSerializer},
        responses={200: ImportAnswerSerializer},
        examples=[
            OpenApiExample(
                "A document",
                value={
                    "format": "promptconfig/v1",
                    "templates": [{"key": "lesson", "language": "en", "name": "Lesson", "template": "Teach {{ t }}."}],
                },
                request_only=True,
                media_type="application/json",
            )
        ],
        operation_id="v1_import_create",
    )
    def post(self, request):
        _no_blanks(request, "dry_run")
        query = self.validated(ImportQuerySerializer, request.query_params)
        body = request.data if isinstance(request.data, dict) and "raw" in request.data else {"raw": b""}
        answer = import_document(
            workspace=self.workspace,
            actor=self.actor,
            raw=body["raw"],
            json_only=body.get("json", False),
            dry_run=query["dry_run"],
            max_versions=settings.IMPORT_MAX_VERSIONS,
        )
        return Response(answer)
