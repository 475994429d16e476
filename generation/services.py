"""The runtime path: resolve a template for a caller, collect variables, render (or reuse), log.

Hot path: the template variants, the node map, pinned versions and profiles all come from the cache;
a cold generation does one cache read per lookup, one render or one prompt-cache read, and logs one record. Each
process keeps the prompt (and the prompt-data answer) that the same inputs made while nothing in the workspace
changed (`memoized`), so a warm call does one lookup.
"""

import hashlib
import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from abtests.services import Routed, feedback_record, route
from generation.log import Record
from generation.models import Generation
from profiles.selectors import profile_variables
from promptconfig.common import metrics, tracing
from promptconfig.common.cache import memoized, read_through
from promptconfig.common.errors import ApiError
from promptconfig.workspaces.models import Workspace
from promptconfig_client.engine import RenderError
from templates_app.models import PromptTemplate, TemplateVersion
from templates_app.rendering import ENGINE, include_loader, version_cache_key
from templates_app.selectors import template_for_caller, version_for_caller

Status = PromptTemplate.Status


def preferred_language(profile: Mapping[str, Any]) -> str | None:
    """The profile's language preference, for a user who has a profile (the defaults prefer nothing)."""
    return profile.get("language_preference") or None if getattr(profile, "found", True) else None


def base_variables(profile: Mapping[str, Any]) -> dict[str, Any]:
    """What a caller gets before its context: the profile, and the defaults derived from it."""
    return {**profile, "difficulty": profile["difficulty_level"], "content_type": "lesson"}


def collect_variables(
    *, profile: Mapping[str, Any], context: Mapping[str, Any], custom: Mapping[str, Any]
) -> dict[str, Any]:
    """Profile < context < custom_variables. `difficulty` is context.difficulty, else the profile's level;
    `content_type` defaults to "lesson"."""
    return {**base_variables(profile), **context, **custom}


def serve(
    template: PromptTemplate, *, user_id: str, version: int | None = None, label: str | None = None
) -> tuple[PromptTemplate, TemplateVersion, Routed | None]:
    """The template and version a caller gets: the lifecycle rules first, then the user's A/B variant
    (unless the caller pinned a version or label)."""
    chosen = version_for_caller(template, version=version, label=label)
    routed = route(template=template, user_id=user_id) if version is None and not label else None
    return (routed.template, routed.version, routed) if routed else (template, chosen, None)


@dataclass
class Resolved:
    """A version ready to render, with everything its includes bring."""

    template: PromptTemplate
    version: TemplateVersion
    includes: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)  # what the body and its includes read
    declared: set[str] = field(default_factory=set)  # declared by the version (the schema may check them too)


def resolve(template: PromptTemplate, version: TemplateVersion) -> Resolved:
    used = set(version.used_variables)
    includes: dict[str, str] = {}
    if version.includes:
        loaded: dict[str, TemplateVersion] = {}
        load = include_loader(workspace_id=template.workspace_id, language=template.language, loaded=loaded)
        includes = ENGINE.resolve_includes(version.body, load)
        for included in loaded.values():
            used |= set(included.used_variables)
    return Resolved(template=template, version=version, includes=includes, used=used, declared=set(version.variables))


@dataclass(frozen=True)
class Target:
    """Who a runtime call is for and what it asks for: the caller's user, the template (by key or node), and
    optionally a language, a pinned version or a label."""

    user_id: str = ""
    template_id: str | None = None
    node_name: str | None = None
    language: str | None = None
    version: int | None = None
    label: str | None = None


def serving(workspace: Workspace, target: Target) -> tuple[Mapping[str, Any], Resolved, Routed | None]:
    """The caller's profile variables, and the version they get (by key or node; in the request's language,
    else the profile's, else the workspace's; by the lifecycle rules, then their A/B variant) with its includes."""
    profile = profile_variables(workspace_id=workspace.pk, user_id=target.user_id)
    template = template_for_caller(
        workspace=workspace,
        template_id=target.template_id,
        node_name=target.node_name,
        language=target.language,
        preferred=preferred_language(profile),
    )
    template, chosen, routed = serve(template, user_id=target.user_id, version=target.version, label=target.label)
    return profile, resolve(template, chosen), routed


def prompt_cache_key(workspace_id: int, version: TemplateVersion, applied: Mapping[str, Any], includes: Mapping) -> str:
    material = json.dumps([version.pk, applied, sorted(includes.items())], sort_keys=True, default=str)
    return f"prompts:{workspace_id}:{hashlib.sha256(material.encode()).hexdigest()}"


@dataclass
class Generated:
    record: Record
    deprecated: bool
    variables_applied: dict[str, Any]
    profile_found: bool


@dataclass(frozen=True)
class Prompt:
    """What a generate call's inputs make: the same for every call with those inputs while the workspace's cached
    state holds, so it is memoized (`promptconfig.common.cache.memoized`)."""

    resolved: Resolved
    routed: Routed | None
    applied: dict[str, Any]
    cache_key: str
    text: str
    expires_at: datetime
    rendered: bool  # rendered when it was made (not read from the prompt cache)
    profile_found: bool


def _memo_key(kind: str, workspace_id: int, inputs: Any) -> str:
    """The memo key of a runtime answer: its workspace (whose epoch it is checked against) and a digest of the
    call's inputs. Their repr is exact for what a JSON body holds (`1`, `1.0` and `true` differ)."""
    return f"{kind}:{workspace_id}:{hashlib.sha256(repr(inputs).encode()).hexdigest()}"


def _holds(now: datetime, *ends: datetime | None) -> float:
    """How many seconds a memoized runtime answer stays true: until the first of these ends (the prompt's expiry,
    the end of the A/B test that routed the caller)."""
    return min(((end - now).total_seconds() for end in ends if end is not None), default=settings.LOCAL_CACHE_SECONDS)


def generate(
    *,
    workspace: Workspace,
    user_id: str = "",
    template_id: str | None = None,
    node_name: str | None = None,
    context: Mapping[str, Any] | None = None,
    custom_variables: Mapping[str, Any] | None = None,
    language: str | None = None,
    version: int | None = None,
    label: str | None = None,
    deadline: float | None = None,
) -> Generated:
    """Render one prompt for one caller. The record is returned unsaved: `log.generations_log` stores it.
    `deadline` (time.monotonic() seconds) bounds the render; a batch passes the request's own."""
    started = time.perf_counter()
    context, custom_variables = context or {}, custom_variables or {}
    now = timezone.now()
    target = Target(user_id, template_id, node_name, language, version, label)
    prompt, kept = memoized(
        _memo_key("generate", workspace.pk, (target, context, custom_variables)),
        lambda: _prompt(workspace, target, context, custom_variables, now=now, deadline=deadline),
    )
    template, routed = prompt.resolved.template, prompt.routed
    elapsed = time.perf_counter() - started
    metrics.child(metrics.prompt_generation_duration_seconds, template_id=template.key).observe(elapsed)
    metrics.child(metrics.prompts_generated_total, template_id=template.key).inc()
    record = Record(
        id=uuid.uuid4(),
        workspace_id=workspace.pk,
        template_id=template.pk,
        version=prompt.resolved.version,
        template_key=template.key,
        language=template.language,
        user_id=user_id,
        context=dict(context),
        variables=prompt.applied,
        text=prompt.text,
        cache_key=prompt.cache_key,
        cache_hit=kept or not prompt.rendered,
        ab_test_id=routed.test_id if routed else "",
        ab_variant=routed.variant if routed else "",
        latency_ms=round(elapsed * 1000, 3),
        trace_id=tracing.trace_id(),
        expires_at=prompt.expires_at,
        created_at=now,
    )
    return Generated(
        record=record,
        deprecated=template.status == Status.DEPRECATED,
        variables_applied=prompt.applied,
        profile_found=prompt.profile_found,
    )


def _prompt(
    workspace: Workspace,
    target: Target,
    context: Mapping[str, Any],
    custom_variables: Mapping[str, Any],
    *,
    now: datetime,
    deadline: float | None,
) -> tuple[Prompt, float]:
    """The prompt of `generate`'s inputs, rendered or read from the prompt cache; and how long it holds."""
    profile, resolved, routed = serving(workspace, target)
    template = resolved.template
    variables = collect_variables(profile=profile, context=context, custom=custom_variables)
    # The render (and its cache key) gets every variable the version reads or declares; the answer lists as
    # applied only what the body and its includes read.
    given = {name: variables[name] for name in sorted(resolved.used | resolved.declared) if name in variables}
    applied = {name: value for name, value in given.items() if name in resolved.used}
    cache_key = prompt_cache_key(workspace.pk, resolved.version, given, resolved.includes)
    rendered = False

    def render() -> tuple[str, datetime]:
        nonlocal rendered
        rendered = True
        try:
            text = ENGINE.render(
                resolved.version.body,
                given,
                includes=resolved.includes,
                schema=resolved.version.variable_schema,
                cache_key=version_cache_key(resolved.version),
                deadline=deadline,
            )
        except (RenderError, ApiError) as exc:
            metrics.prompt_render_failures_total.labels(template_id=template.key, code=exc.code).inc()
            raise
        return text, now + timedelta(seconds=settings.PROMPT_CACHE_TTL)

    text, expires_at = read_through(cache_key, render, timeout=settings.PROMPT_CACHE_TTL, cache_type="prompt")
    prompt = Prompt(
        resolved=resolved,
        routed=routed,
        applied=applied,
        cache_key=cache_key,
        text=text,
        expires_at=expires_at,
        rendered=rendered,
        profile_found=getattr(profile, "found", True),
    )
    return prompt, _holds(now, expires_at, routed.until if routed else None)


@dataclass
class PromptData:
    template: PromptTemplate
    version: TemplateVersion
    includes: dict[str, str]
    user_placeholders: dict[str, Any]
    required_dynamic: list[str]
    optional_dynamic: list[str]
    etag: str
    profile_found: bool
    ab_test: dict | None = None
    deprecated: bool = False


def prompt_data(
    *,
    workspace: Workspace,
    user_id: str = "",
    template_id: str | None = None,
    node_name: str | None = None,
    language: str | None = None,
    version: int | None = None,
    label: str | None = None,
    deadline: float | None = None,
) -> PromptData:
    """What a client needs to render locally: body, includes, the user's placeholders, what is left to supply.

    `required_dynamic` is what a render with the placeholders alone would report missing (the engine's own
    answer, so the client's render agrees); the other variables the body and includes use, and the
    placeholders do not supply, are `optional_dynamic` (read only behind `is defined`, `default` and the like).
    """
    target = Target(user_id, template_id, node_name, language, version, label)
    key = _memo_key("prompt-data", workspace.pk, target)
    data, _ = memoized(key, lambda: _prompt_data(workspace, target, deadline))
    return data


def _prompt_data(workspace: Workspace, target: Target, deadline: float | None) -> tuple[PromptData, float]:
    """`prompt_data`'s answer, and how long it holds."""
    profile, resolved, routed = serving(workspace, target)
    template = resolved.template
    placeholders = base_variables(profile)
    ab_test = {"test_id": routed.test_id, "variant": routed.variant} if routed else None
    deprecated = template.status == Status.DEPRECATED
    material = json.dumps(
        [
            resolved.version.pk,
            sorted(resolved.includes.items()),
            placeholders,
            ab_test,
            getattr(profile, "found", True),
            deprecated,  # a client revalidating with If-None-Match learns of it too
        ],
        sort_keys=True,
        default=str,
    )
    digest = hashlib.sha256(material.encode()).hexdigest()
    # What is missing depends on the version, its includes and the placeholders, all in the digest: a render
    # to find out is made once, then read from the cache.
    required = read_through(
        f"prompts:{workspace.pk}:required:{digest}",
        lambda: ENGINE.required_variables(
            resolved.version.body,
            placeholders,
            includes=resolved.includes,
            cache_key=version_cache_key(resolved.version),
            deadline=deadline,
        ),
        timeout=settings.PROMPT_CACHE_TTL,
    )
    data = PromptData(
        template=template,
        version=resolved.version,
        includes=resolved.includes,
        user_placeholders=placeholders,
        required_dynamic=required,
        optional_dynamic=sorted(resolved.used - set(placeholders) - set(required)),
        etag=f'"{digest[:32]}"',
        profile_found=getattr(profile, "found", True),
        ab_test=ab_test,
        deprecated=deprecated,
    )
    return data, _holds(timezone.now(), routed.until if routed else None)


def _replace_in_mean(mean: float, count: int, old: float | None, new: float) -> tuple[float, int]:
    """A running mean with `new` added, or with `old` replaced by `new` when there was one."""
    total = mean * count - (old or 0)
    count += old is None
    return round((total + new) / count, 4), count


@transaction.atomic
def generation_feedback(
    *, generation: Generation, rating: int | None, effectiveness_score: float | None, feedback_metrics: dict[str, float]
) -> Generation:
    """Record feedback on a prompt and fold it into its template's rating and success stats.

    Feedback may be sent again: the template's running means (and the A/B metric events) replace the old
    values instead of counting twice.
    """
    # Locked before its old values are read: concurrent feedback on one prompt is applied one at a time.
    generation = Generation.objects.select_for_update().get(pk=generation.pk)
    template = PromptTemplate.objects.select_for_update().get(pk=generation.template_id)
    if rating is not None:
        template.average_rating, template.rating_count = _replace_in_mean(
            template.average_rating, template.rating_count, generation.rating, rating
        )
        generation.rating = rating
    if effectiveness_score is not None:
        template.success_rate, template.feedback_count = _replace_in_mean(
            template.success_rate, template.feedback_count, generation.effectiveness_score, effectiveness_score
        )
        generation.effectiveness_score = effectiveness_score
    generation.feedback_metrics = {**generation.feedback_metrics, **feedback_metrics}
    generation.feedback_at = timezone.now()
    generation.save(update_fields=["rating", "effectiveness_score", "feedback_metrics", "feedback_at"])
    template.save(update_fields=["average_rating", "rating_count", "success_rate", "feedback_count"])
    if generation.ab_test_id:  # the prompt's A/B test gets the values as metric events
        feedback_record(
            test_id=generation.ab_test_id,
            prompt_id=generation.pk,
            user_id=generation.user_id,
            variant=generation.ab_variant,
            values={
                "rating": generation.rating,
                "effectiveness": generation.effectiveness_score,
                **generation.feedback_metrics,
            },
        )
    return generation


def generations_purge(*, older_than: datetime, batch_size: int = 1000) -> int:
    """Delete generation records created before `older_than`, in batches (short transactions)."""
    deleted = 0
    while True:
        ids = list(Generation.objects.filter(created_at__lt=older_than).values_list("pk", flat=True)[:batch_size])
        if not ids:
            return deleted
        deleted += Generation.objects.filter(pk__in=ids).delete()[0]
