"""The runtime API client services call: generate, batch, generate-prompt, prompt-data, prompts, feedback;
and cache control."""

from django.conf import settings
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from promptconfig.common.exceptions import known_error
from promptconfig.workspaces.viewsets import WorkspaceScopedMixin
from templates_app import caching, generation, generation_log
from templates_app.serializers import (
    BatchRequestSerializer,
    CacheInvalidateSerializer,
    CacheWarmupSerializer,
    FeedbackSerializer,
    GeneratePromptSerializer,
    GenerateRequestSerializer,
    GenerationSerializer,
    PromptDataRequestSerializer,
)

GENERATED = inline_serializer(
    "Generated",
    {
        "prompt_id": serializers.UUIDField(),
        "generated_prompt": serializers.CharField(),
        "template_used": serializers.CharField(),
        "template_version": serializers.IntegerField(),
        "language": serializers.CharField(),
        "variables_applied": serializers.DictField(),
        "ab_test": serializers.DictField(allow_null=True),
        "cache_key": serializers.CharField(),
        "cache_hit": serializers.BooleanField(),
        "expires_at": serializers.DateTimeField(),
        "deprecated": serializers.BooleanField(required=False),
    },
)
PROMPT_DATA = inline_serializer(
    "PromptData",
    {
        "template": serializers.CharField(),
        "template_id": serializers.CharField(),
        "template_version": serializers.IntegerField(),
        "language": serializers.CharField(),
        "variable_schema": serializers.DictField(allow_null=True),
        "user_placeholders": serializers.DictField(),
        "required_dynamic_placeholders": serializers.ListField(child=serializers.CharField()),
        "includes": serializers.DictField(child=serializers.CharField()),
        "cache_ttl": serializers.IntegerField(),
        "ab_test": serializers.DictField(allow_null=True),
    },
)


class RuntimeView(WorkspaceScopedMixin, APIView):
    required_scope = "read"  # the contract lets read keys make runtime calls


def ab_test_of(record) -> dict | None:
    return {"test_id": record.ab_test_id, "variant": record.ab_variant} if record.ab_test_id else None


def generate_body(generated: generation.Generated) -> dict:
    record = generated.record
    body = {
        "prompt_id": str(record.id),
        "generated_prompt": record.text,
        "template_used": record.template_key,
        "template_version": record.version.number,
        "language": record.language,
        "variables_applied": generated.variables_applied,
        "ab_test": ab_test_of(record),
        "cache_key": record.cache_key,
        "cache_hit": record.cache_hit,
        "expires_at": record.expires_at,
    }
    if generated.deprecated:
        body["deprecated"] = True
    return body


def deprecation_headers(deprecated: bool) -> dict[str, str]:
    return {"Deprecation": "true"} if deprecated else {}


class GenerateView(RuntimeView):
    @extend_schema(request=GenerateRequestSerializer, responses=GENERATED)
    def post(self, request):
        generated = generation.generate(
            workspace=self.workspace, **self.validated(GenerateRequestSerializer, request.data)
        )
        generation_log.generations_log([generated.record])
        return Response(generate_body(generated), headers=deprecation_headers(generated.deprecated))


class BatchGenerateView(RuntimeView):
    @extend_schema(request=BatchRequestSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        items = self.validated(BatchRequestSerializer, request.data)["requests"]
        results, records = [], []
        for item in items:
            try:
                generated = generation.generate(
                    workspace=self.workspace, **self.validated(GenerateRequestSerializer, item)
                )
            except Exception as exc:  # one bad item answers for itself; unknown failures still raise
                known = known_error(exc)
                if known is None:
                    raise
                results.append(known[1])
                continue
            records.append(generated.record)
            results.append(generate_body(generated))
        generation_log.generations_log(records)
        hits = sum(record.cache_hit for record in records)
        return Response(
            {
                "results": results,
                "total_generated": len(records),
                "cache_hits": hits,
                "cache_misses": len(records) - hits,
            }
        )


class GeneratePromptView(RuntimeView):
    @extend_schema(request=GeneratePromptSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        data = self.validated(GeneratePromptSerializer, request.data)
        generated = generation.generate(workspace=self.workspace, **data)
        generation_log.generations_log([generated.record])
        record = generated.record
        body = {
            "prompt": record.text,
            "prompt_id": str(record.id),
            "template_used": record.template_key,
            "template_version": record.version.number,
            "ab_test": ab_test_of(record),
        }
        return Response(body, headers=deprecation_headers(generated.deprecated))


class PromptDataView(RuntimeView):
    @extend_schema(request=PromptDataRequestSerializer, responses={200: PROMPT_DATA, 304: None})
    def post(self, request):
        data = generation.prompt_data(
            workspace=self.workspace, **self.validated(PromptDataRequestSerializer, request.data)
        )
        headers = {"ETag": data.etag, "Cache-Control": f"private, max-age={settings.PROMPT_DATA_TTL}"}
        if data.etag in {tag.strip() for tag in request.META.get("HTTP_IF_NONE_MATCH", "").split(",")}:
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        body = {
            "template": data.version.body,
            "template_id": data.template.key,
            "template_version": data.version.number,
            "language": data.template.language,
            "variable_schema": data.version.variable_schema,
            "user_placeholders": data.user_placeholders,
            "required_dynamic_placeholders": data.required_dynamic,
            "includes": data.includes,
            "cache_ttl": settings.PROMPT_DATA_TTL,
            "ab_test": data.ab_test,
        }
        return Response(body, headers=headers)


class PromptDetailView(RuntimeView):
    @extend_schema(responses=GenerationSerializer)
    def get(self, request, prompt_id):
        record = generation.generation_get(workspace=self.workspace, prompt_id=prompt_id)
        return Response(GenerationSerializer(record).data)


class FeedbackView(RuntimeView):
    @extend_schema(request=FeedbackSerializer, responses=GenerationSerializer)
    def post(self, request, prompt_id):
        data = self.validated(FeedbackSerializer, request.data)
        with transaction.atomic():
            record = generation.generation_get(workspace=self.workspace, prompt_id=prompt_id)
            generation.generation_feedback(
                generation=record,
                rating=data.get("rating"),
                effectiveness_score=data.get("effectiveness_score"),
                feedback_metrics=data["metrics"],
            )
        return Response(GenerationSerializer(record).data)


class CacheStatsView(RuntimeView):
    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(caching.cache_stats())


class CacheInvalidateView(RuntimeView):
    required_scope = "admin"

    @extend_schema(request=CacheInvalidateSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        pattern = self.validated(CacheInvalidateSerializer, request.data)["pattern"]
        return Response({"invalidated": caching.cache_invalidate(workspace=self.workspace, pattern=pattern)})


class CacheWarmupView(RuntimeView):
    required_scope = "admin"

    @extend_schema(request=CacheWarmupSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        keys = self.validated(CacheWarmupSerializer, request.data).get("templates")
        return Response({"warmed": caching.cache_warmup(workspace=self.workspace, keys=keys)})
