"""The runtime API client services call: generate, batch, generate-prompt, prompt-data, prompts, feedback;
cache control; and the analytics reads."""

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.http import parse_etags
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from generation import caching, log, selectors, services
from generation.selectors import (
    DAY,
    INTERVALS,
    MAX_BUCKETS,
    UsageQuery,
    analytics_summary,
    bucket_count,
    bucket_floor,
    default_window,
    iso_utc,
    live_templates,
    template_analytics,
    usage_series,
)
from generation.serializers import (
    BatchRequestSerializer,
    CacheInvalidateSerializer,
    CacheWarmupSerializer,
    FeedbackSerializer,
    GeneratePromptSerializer,
    GenerateRequestSerializer,
    GenerationSerializer,
    PromptDataRequestSerializer,
    SummarySerializer,
    TemplateAnalyticsSerializer,
    UsageSerializer,
)
from promptconfig.common.errors import ValidationFailed
from promptconfig.common.exceptions import known_error
from promptconfig.workspaces.models import Workspace
from promptconfig.workspaces.viewsets import WorkspaceScopedMixin
from promptconfig_client.engine import TemplateError

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
        "profile_found": serializers.BooleanField(help_text="false: no profile for user_id, its defaults applied"),
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
        "model_config": serializers.DictField(allow_null=True),
        "required_dynamic_placeholders": serializers.ListField(
            child=serializers.CharField(), help_text="what the body needs to render and the placeholders lack"
        ),
        "optional_dynamic_placeholders": serializers.ListField(
            child=serializers.CharField(), help_text="read only if given (behind `is defined`, `default`...)"
        ),
        "includes": serializers.DictField(child=serializers.CharField()),
        "cache_ttl": serializers.IntegerField(),
        "ab_test": serializers.DictField(allow_null=True),
        "profile_found": serializers.BooleanField(help_text="false: no profile for user_id, its defaults applied"),
        "deprecated": serializers.BooleanField(
            required=False, help_text="present (true) when the template is deprecated"
        ),
    },
)
PROMPT_DATA_BATCH = inline_serializer(
    "PromptDataBatch",
    {
        "results": serializers.ListField(
            child=serializers.DictField(),
            help_text='a prompt-data body with its `etag`, or `{"error": {...}}`, per request, in order',
        )
    },
)


class RuntimeView(WorkspaceScopedMixin, APIView):
    required_scope = "read"  # the API contract lets read keys make runtime calls
    throttle_scope = "runtime"
    penalize_slow = True  # renders the caller's templates: a slow one puts the key in the penalty box
    fast_path = True  # plain calls skip the generic dispatch (promptconfig/workspaces/fastpath.py)

    def each_item(self, request, serializer_class, work: Callable) -> list[tuple[Any, dict | None]]:
        """A batch body's items, each validated and given to `work` (with the request's deadline): (its result,
        None), or (None, the error body) for an item that failed with a known error. One bad item never fails
        the others. The whole request has one time budget (BATCH_TIME_BUDGET_MS), and each render its own within
        it: items reached after it answer template_error."""
        deadline = time.monotonic() + settings.BATCH_TIME_BUDGET_MS / 1000
        outcomes = []
        for item in self.validated(BatchRequestSerializer, request.data)["requests"]:
            try:
                if time.monotonic() > deadline:
                    raise TemplateError(
                        f"The batch used up its time budget of {settings.BATCH_TIME_BUDGET_MS} ms before this item."
                    )
                item_deadline = min(deadline, time.monotonic() + settings.RENDER_TIME_BUDGET_MS / 1000)
                outcomes.append((work(**self.validated(serializer_class, item), deadline=item_deadline), None))
            except Exception as exc:  # unknown failures still raise (a 500, logged)
                known = known_error(exc)
                if known is None:
                    raise
                outcomes.append((None, known[1]))
        return outcomes


def ab_test_of(record) -> dict | None:
    return {"test_id": record.ab_test_id, "variant": record.ab_variant} if record.ab_test_id else None


def generate_body(generated: services.Generated) -> dict:
    record = generated.record
    return {
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
        "profile_found": generated.profile_found,
        **deprecation_flag(generated.deprecated),
    }


def deprecation_headers(deprecated: bool) -> dict[str, str]:
    return {"Deprecation": "true"} if deprecated else {}


def deprecation_flag(deprecated: bool) -> dict[str, bool]:
    """What a runtime answer's body says of a deprecated template (nothing otherwise)."""
    return {"deprecated": True} if deprecated else {}


class GenerateView(RuntimeView):
    @extend_schema(request=GenerateRequestSerializer, responses=GENERATED)
    def post(self, request):
        generated = services.generate(workspace=self.workspace, **self.validated_body(GenerateRequestSerializer))
        log.generations_log([generated.record])
        return Response(generate_body(generated), headers=deprecation_headers(generated.deprecated))


class BatchGenerateView(RuntimeView):
    throttle_scope = "expensive"

    @extend_schema(request=BatchRequestSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        outcomes = self.each_item(
            request, GenerateRequestSerializer, lambda **data: services.generate(workspace=self.workspace, **data)
        )
        records = [generated.record for generated, _ in outcomes if generated]
        results = [generate_body(generated) if generated else error for generated, error in outcomes]
        log.generations_log(records)
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
        data = self.validated_body(GeneratePromptSerializer)
        generated = services.generate(workspace=self.workspace, **data)
        log.generations_log([generated.record])
        record = generated.record
        body = {
            "prompt": record.text,
            "prompt_id": str(record.id),
            "template_used": record.template_key,
            "template_version": record.version.number,
            "ab_test": ab_test_of(record),
            **deprecation_flag(generated.deprecated),
        }
        return Response(body, headers=deprecation_headers(generated.deprecated))


def prompt_data_body(data: services.PromptData) -> dict:
    return {
        "template": data.version.body,
        "template_id": data.template.key,
        "template_version": data.version.number,
        "language": data.template.language,
        "variable_schema": data.version.variable_schema,
        "model_config": data.version.model_config,
        "user_placeholders": data.user_placeholders,
        "required_dynamic_placeholders": data.required_dynamic,
        "optional_dynamic_placeholders": data.optional_dynamic,
        "includes": data.includes,
        "cache_ttl": settings.PROMPT_DATA_TTL,
        "ab_test": data.ab_test,
        "profile_found": data.profile_found,
        **deprecation_flag(data.deprecated),
    }


def not_modified(etag: str, if_none_match: str | None) -> bool:
    """RFC 9110's If-None-Match: `*`, or any listed tag equal to ours in the weak comparison (`W/` ignored)."""
    if not if_none_match:
        return False
    tags = parse_etags(if_none_match)
    return tags == ["*"] or etag in {tag.removeprefix("W/") for tag in tags}


class PromptDataView(RuntimeView):
    @extend_schema(request=PromptDataRequestSerializer, responses={200: PROMPT_DATA, 304: None})
    def post(self, request):
        data = services.prompt_data(workspace=self.workspace, **self.validated_body(PromptDataRequestSerializer))
        headers = {"ETag": data.etag, "Cache-Control": f"private, max-age={settings.PROMPT_DATA_TTL}"}
        headers.update(deprecation_headers(data.deprecated))
        if not_modified(data.etag, request.META.get("HTTP_IF_NONE_MATCH")):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers=headers)
        return Response(prompt_data_body(data), headers=headers)


class PromptDataBatchView(RuntimeView):
    throttle_scope = "expensive"

    @extend_schema(request=BatchRequestSerializer, responses=PROMPT_DATA_BATCH)
    def post(self, request):
        outcomes = self.each_item(
            request, PromptDataRequestSerializer, lambda **data: services.prompt_data(workspace=self.workspace, **data)
        )
        results = [{**prompt_data_body(data), "etag": data.etag} if data else error for data, error in outcomes]
        return Response({"results": results})


class PromptDetailView(RuntimeView):
    penalize_slow = False

    @extend_schema(responses=GenerationSerializer)
    def get(self, request, prompt_id):
        record = selectors.generation_get(workspace=self.workspace, prompt_id=prompt_id)
        return Response(GenerationSerializer(record).data)


class FeedbackView(RuntimeView):
    penalize_slow = False

    @extend_schema(request=FeedbackSerializer, responses=GenerationSerializer)
    def post(self, request, prompt_id):
        data = self.validated(FeedbackSerializer, request.data)
        with transaction.atomic():
            record = services.generation_feedback(
                generation=selectors.generation_get(workspace=self.workspace, prompt_id=prompt_id),
                rating=data.get("rating"),
                effectiveness_score=data.get("effectiveness_score"),
                feedback_metrics=data["metrics"],
            )
        return Response(GenerationSerializer(record).data)


class CacheStatsView(RuntimeView):
    penalize_slow = False

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(caching.cache_stats(workspace=self.workspace))


class CacheInvalidateView(RuntimeView):
    penalize_slow = False
    required_scope = "admin"
    throttle_scope = "expensive"

    @extend_schema(request=CacheInvalidateSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        pattern = self.validated(CacheInvalidateSerializer, request.data)["pattern"]
        return Response({"invalidated": caching.cache_invalidate(workspace=self.workspace, pattern=pattern)})


class CacheWarmupView(RuntimeView):
    penalize_slow = False
    required_scope = "admin"
    throttle_scope = "expensive"

    @extend_schema(request=CacheWarmupSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        keys = self.validated(CacheWarmupSerializer, request.data).get("templates")
        return Response({"warmed": caching.cache_warmup(workspace=self.workspace, keys=keys)})


# --- analytics -----------------------------------------------------------------------------------
class AnalyticsView(WorkspaceScopedMixin, APIView):
    """Read scope; every number is the caller's workspace's own."""


class SummaryView(AnalyticsView):
    @extend_schema(responses=SummarySerializer, operation_id="analytics_summary")
    def get(self, request):
        return Response(analytics_summary(workspace=self.workspace))


class TemplateAnalyticsView(AnalyticsView):
    @extend_schema(
        parameters=[
            OpenApiParameter("key", str, OpenApiParameter.PATH),
            OpenApiParameter("language", str, description="only this language variant (default: all of them)"),
        ],
        responses=TemplateAnalyticsSerializer,
        operation_id="analytics_template",
    )
    def get(self, request, key: str):
        language = request.query_params.get("language") or None
        return Response(template_analytics(workspace=self.workspace, key=key, language=language))


def parse_moment(value: str) -> datetime:
    """An ISO 8601 date (midnight UTC) or date-time (naive means UTC); ValueError otherwise."""
    moment = datetime.fromisoformat(value.strip())
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def usage_query(params, *, workspace: Workspace, now: datetime | None = None) -> UsageQuery:
    """The usage query the parameters ask for; ValidationFailed naming each bad field, NotFound for `template`."""
    errors: dict[str, list[str]] = {}
    interval = params.get("interval") or DAY
    if interval not in INTERVALS:
        errors["interval"] = [f"Must be one of: {', '.join(INTERVALS)}."]
    moments: dict[str, datetime | None] = {}
    for field in ("from", "to"):
        raw = params.get(field)
        try:  # absent is the default; empty is not a date-time
            moments[field] = None if raw is None else parse_moment(raw)
        except (ValueError, OverflowError):
            errors[field] = ["Not an ISO 8601 date or date-time (such as 2025-01-31 or 2025-01-31T13:00:00Z)."]
    if errors:
        raise ValidationFailed(details=errors)
    end = moments["to"] or now or timezone.now()
    try:
        start = moments["from"] or default_window(interval, now=end)[0]
    except OverflowError:  # a `to` in the first days of year 1: the window starts at the earliest moment
        start = datetime.min.replace(tzinfo=UTC)
    # [from, to) with `from` not before `to` is empty: an empty series.
    start = min(start, end)
    if bucket_count(interval=interval, start=start, end=end) > MAX_BUCKETS:
        # The newest MAX_BUCKETS buckets before `to`; the answer's `from` says where the series starts.
        last = bucket_floor(end - timedelta(microseconds=1), interval)
        start = last - INTERVALS[interval] * (MAX_BUCKETS - 1)
    template_ids = None
    if key := params.get("template"):
        variants = live_templates(workspace=workspace, key=key, language=params.get("language") or None)
        template_ids = [variant["id"] for variant in variants]
    return UsageQuery(interval=interval, start=start, end=end, template_ids=template_ids)


class UsageView(AnalyticsView):
    @extend_schema(
        parameters=[
            OpenApiParameter("interval", str, enum=list(INTERVALS), description="bucket size (default day)"),
            OpenApiParameter(
                "from", datetime, description="ISO 8601 (default: the last 7 days or 48 hours, this one included)"
            ),
            OpenApiParameter("to", datetime, description="ISO 8601, exclusive (default: now)"),
            OpenApiParameter("template", str, description="only this template key"),
            OpenApiParameter("language", str, description="with template: only this language variant"),
        ],
        responses=UsageSerializer,
        operation_id="analytics_usage",
    )
    def get(self, request):
        query = usage_query(request.query_params, workspace=self.workspace)
        series = usage_series(workspace=self.workspace, query=query)
        return Response(
            {
                "from": iso_utc(query.start),
                "to": iso_utc(query.end),
                "series": [
                    {"bucket": iso_utc(point["bucket"]), "generations": point["generations"]} for point in series
                ],
            }
        )
