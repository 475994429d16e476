"""A/B tests: creation and control, sticky assignment, routing, metric events and the analysis."""

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, F, Q
from django.utils import timezone

from abtests.models import ABTest, Assignment, MetricEvent
from promptconfig.common import metrics
from promptconfig.common.cache import forget, read_through
from promptconfig.common.errors import ApiError, Conflict, NotFound
from promptconfig.events.services import record_event
from promptconfig.workspaces.models import Workspace
from templates_app.models import PromptTemplate, TemplateVersion
from templates_app.selectors import template_resolve, template_variants, version_for_caller

Status = ABTest.Status
TRANSITIONS = {
    Status.DRAFT: {Status.ACTIVE, Status.COMPLETED},
    Status.ACTIVE: {Status.PAUSED, Status.COMPLETED},
    Status.PAUSED: {Status.ACTIVE, Status.COMPLETED},
    Status.COMPLETED: set(),
}
ROUTE_CACHE_TIMEOUT = 3600
ASSIGNMENT_CACHE_TIMEOUT = 24 * 3600
SRM_ALPHA = 0.001
ANALYSIS_ACTOR = "system:ab_test_analysis"


def _record(test: ABTest, type: str, actor: str, **data) -> None:
    record_event(
        workspace=test.workspace_id, type=type, actor=actor, subject_kind="ab_test", subject_id=test.pk, data=data
    )


# --- assignment ------------------------------------------------------------------------------------
def variant_for(test_id, user_id: str, traffic_split: float) -> str:
    """The deterministic variant: the first 60 bits of md5(`test_id:user_id`) as a fraction, below the split is A.

    The same on every process and after restarts; md5 is used for an even spread, not for security.
    """
    digest = hashlib.md5(f"{test_id}:{user_id}".encode()).hexdigest()
    return "A" if int(digest[:15], 16) / 16**15 < traffic_split else "B"


def _assignment_cache_key(test: ABTest, user_id: str) -> str:
    return f"abassign:{test.workspace_id}:{test.pk}:{hashlib.sha1(user_id.encode()).hexdigest()}"


def assignment_get_or_create(*, test: ABTest, user_id: str) -> str:
    """The user's variant, stored at first exposure (one row whatever the concurrency), then cached."""

    def load() -> str:
        variant = variant_for(test.pk, user_id, test.traffic_split)
        assignment, created = Assignment.objects.get_or_create(
            test=test, user_id=user_id, defaults={"variant": variant}
        )
        if created:
            metrics.ab_test_participants_total.labels(test_id=str(test.pk), variant=assignment.variant).inc()
        return assignment.variant

    return read_through(_assignment_cache_key(test, user_id), load, timeout=ASSIGNMENT_CACHE_TIMEOUT)


# --- routing ---------------------------------------------------------------------------------------
def _route_cache_key(workspace_id: int, template_id: int) -> str:
    return f"abroutes:{workspace_id}:{template_id}"


def active_test_for(template: PromptTemplate) -> ABTest | None:
    """The active, unexpired test whose `template_a` is this template (cached; dropped on every change)."""
    test = read_through(
        _route_cache_key(template.workspace_id, template.pk),
        lambda: (
            ABTest.objects.filter(template_a=template, status=Status.ACTIVE)
            .select_related("template_b__served_version", "version_a", "version_b")
            .first()
            or ""
        ),
        timeout=ROUTE_CACHE_TIMEOUT,
    )
    return test if test and test.is_running() else None


@dataclass(frozen=True)
class Routed:
    template: PromptTemplate
    version: TemplateVersion
    test_id: str
    variant: str
    until: datetime | None = None  # the test's expiry: the routing holds until then


def route(*, template: PromptTemplate, user_id: str) -> Routed | None:
    """The template and version an active test serves this user instead of `template`, or None.

    Nobody is routed without a user id (there is no one to keep the variant for), while no test is active,
    or while B cannot be served (deleted, archived or unpublished during the test): then everyone gets A,
    outside the test, and nobody is assigned.
    """
    test = active_test_for(template) if user_id else None
    b = _servable_b(test) if test else None
    if b is None:
        return None
    variant = assignment_get_or_create(test=test, user_id=user_id)
    chosen, version = (template, test.version_a or version_for_caller(template)) if variant == "A" else b
    return Routed(template=chosen, version=version, test_id=str(test.pk), variant=variant, until=test.expires_at)


def _servable_b(test: ABTest) -> tuple[PromptTemplate, TemplateVersion] | None:
    """B as served now (the test's copy may be older than B's latest publish), or None."""
    stored = test.template_b
    current = template_variants(workspace_id=stored.workspace_id, key=stored.key).get(stored.language)
    if current is None:
        return None
    try:
        return current, test.version_b or version_for_caller(current)
    except ApiError:
        return None


# --- creation and control --------------------------------------------------------------------------
def _template(workspace: Workspace, key: str, language: str | None, field: str) -> PromptTemplate:
    try:
        return template_resolve(workspace=workspace, key=key, language=language, exact=True)  # a test is per language
    except NotFound as exc:
        raise NotFound(exc.message, details={field: [exc.message]}) from None


def _pinned(template: PromptTemplate, number: int | None, field: str) -> TemplateVersion | None:
    """The pinned version, or None to follow the served one; either must be servable now."""
    try:
        version = version_for_caller(template, version=number)
    except NotFound as exc:
        raise NotFound(exc.message, details={field: [exc.message]}) from None
    return version if number is not None else None


def ab_test_start(test: ABTest) -> None:
    now = timezone.now()
    test.status = Status.ACTIVE
    test.started_at = test.started_at or now
    test.expires_at = test.expires_at or now + timedelta(days=test.duration_days)


def ab_test_save(test: ABTest) -> None:
    """Save, turning a second active test for the same template into 409 (the database decides races)."""
    try:
        with transaction.atomic():
            test.save()
    except IntegrityError:
        raise Conflict(
            f"Template '{test.template_a.key}' already has an active A/B test: pause or complete it first."
        ) from None
    forget(_route_cache_key(test.workspace_id, test.template_a_id))


@transaction.atomic
def ab_test_create(
    *,
    workspace: Workspace,
    actor: str,
    name: str,
    template_a: str,
    template_b: str,
    target_metrics: list[str],
    traffic_split: float = 0.5,
    description: str = "",
    language: str | None = None,
    version_a: int | None = None,
    version_b: int | None = None,
    confidence_level: float = 0.95,
    duration_days: int = 14,
    status: str = Status.ACTIVE,
) -> ABTest:
    a = _template(workspace, template_a, language, "template_a")
    b = _template(workspace, template_b, language, "template_b")
    if a.pk == b.pk and (version_a is None or version_a == version_b):
        raise Conflict(
            "A test needs two different templates, or two different pinned versions of one.",
            details={"template_b": ["Same template and version as template_a."]},
        )
    test = ABTest(
        workspace=workspace,
        name=name,
        description=description,
        template_a=a,
        template_b=b,
        version_a=_pinned(a, version_a, "version_a"),
        version_b=_pinned(b, version_b, "version_b"),
        traffic_split=traffic_split,
        target_metrics=list(dict.fromkeys(target_metrics)),
        confidence_level=confidence_level,
        duration_days=duration_days,
        status=Status.DRAFT,
        created_by=actor,
    )
    if status == Status.ACTIVE:
        ab_test_start(test)
    ab_test_save(test)
    _record(test, "ab_test.created", actor, name=name, status=test.status, template_a=a.key, template_b=b.key)
    return test


@transaction.atomic
def ab_test_set_status(*, test: ABTest, status: str, actor: str = "system") -> ABTest:
    test = ABTest.objects.select_for_update().select_related("template_a").get(pk=test.pk)
    if status == test.status:
        return test
    previous = test.status
    if status not in TRANSITIONS[test.status]:
        raise Conflict(f"An A/B test cannot go from {test.status} to {status}.")
    if status == Status.ACTIVE:
        if test.expires_at and test.expires_at <= timezone.now():
            raise Conflict("This A/B test has expired; it can only be completed.")
        ab_test_start(test)
    else:
        test.status = status
        if status == Status.COMPLETED:
            test.completed_at = timezone.now()
    ab_test_save(test)
    _record(test, "ab_test.status_changed", actor, **{"from": previous, "to": test.status})
    return test  # once completed, the next analysis records ab_test.completed with the winner


# --- metric events ---------------------------------------------------------------------------------
def metric_record(*, test: ABTest, user_id: str, metric: str, value: float) -> MetricEvent:
    """One metric value for an assigned user; 409 for a user never assigned or a completed test."""
    if test.status == Status.COMPLETED:
        raise Conflict("This A/B test is completed: it takes no more metrics.")
    variant = Assignment.objects.filter(test=test, user_id=user_id).values_list("variant", flat=True).first()
    if variant is None:
        raise Conflict(f"User '{user_id}' was never assigned to this A/B test.")
    return MetricEvent.objects.create(test=test, user_id=user_id, variant=variant, metric=metric, value=value)


def feedback_record(*, test_id: str, prompt_id, user_id: str, variant: str, values: dict[str, float | None]) -> None:
    """A prompt's feedback as metric events of its test, one per metric (`rating`, `effectiveness` and the
    feedback's own metrics); values that are None are skipped, and feedback sent again replaces its values."""
    test = ABTest.objects.filter(pk=test_id).only("status").first()
    if test is None or test.status == Status.COMPLETED:
        return
    events = [
        MetricEvent(test=test, prompt_id=prompt_id, user_id=user_id, variant=variant, metric=metric, value=float(value))
        for metric, value in values.items()
        if value is not None
    ]
    MetricEvent.objects.bulk_create(  # one statement, however many metrics
        events,
        update_conflicts=True,
        unique_fields=["prompt_id", "metric"],
        update_fields=["value", "test", "user_id", "variant"],
    )


# --- analysis --------------------------------------------------------------------------------------
def _finite(value: float, digits: int | None = 6) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits) if digits is not None else float(value)


def _describe(values: list[float]) -> dict:
    n = len(values)
    mean = sum(values) / n if n else None
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1)) if n > 1 else None
    return {"n": n, "mean": _finite(mean), "std": _finite(std)}


def _welch(a: list[float], b: list[float], confidence_level: float) -> dict:
    """Welch's t-test of B against A: p-value and the confidence interval of mean(B) - mean(A)."""
    from scipy import stats

    if len(a) < 2 or len(b) < 2:
        return {"p_value": None, "difference": None, "ci": None}
    result = stats.ttest_ind(b, a, equal_var=False)
    interval = result.confidence_interval(confidence_level)
    return {
        "p_value": _finite(result.pvalue, None),
        "difference": _finite(sum(b) / len(b) - sum(a) / len(a)),
        "ci": [_finite(interval.low), _finite(interval.high)],
    }


def _srm(participants: dict[str, int], traffic_split: float) -> dict:
    """Sample-ratio mismatch: a chi-square test of the assignment counts against the configured split."""
    from scipy import stats

    total = participants["A"] + participants["B"]
    if total == 0:
        return {"p_value": None, "mismatch": False}
    expected = [total * traffic_split, total * (1 - traffic_split)]
    p_value = _finite(stats.chisquare([participants["A"], participants["B"]], f_exp=expected).pvalue, None)
    return {"p_value": p_value, "mismatch": p_value is not None and p_value < SRM_ALPHA}


def ab_test_compute(test: ABTest) -> dict:
    """The results of a test from its stored assignments and events.

    The unit of analysis is the user (the unit of randomisation): each user's events of a metric are
    averaged first, so a user who reports often does not weigh more. Per variant and metric: users
    (`samples`), mean and standard deviation; per metric, Welch's t-test (B against A) with its p-value
    and the confidence interval of the difference. A winner is declared only when the primary metric
    (the first target metric; higher is better) is significant at the test's confidence level, both
    variants have at least ABTEST_MIN_SAMPLES users with it, and the assignment counts show no
    sample-ratio mismatch (chi-square p < 0.001), which would mean the split itself is broken.
    """
    participants = {"A": 0, "B": 0}
    participants.update(
        dict(Assignment.objects.filter(test=test).values_list("variant").annotate(n=Count("id")).order_by())
    )
    per_user: dict[tuple[str, str], list[float]] = defaultdict(list)
    rows = (
        MetricEvent.objects.filter(test=test)
        .values_list("metric", "variant", "user_id")
        .annotate(mean=Avg("value"))
        .order_by()
    )
    for metric, variant, _user, mean in rows.iterator():
        per_user[metric, variant].append(mean)
    names = list(dict.fromkeys([*test.target_metrics, *sorted({metric for metric, _ in per_user})]))
    arms = {"A": ("template_a", test.template_a), "B": ("template_b", test.template_b)}
    described = {(name, variant): _describe(per_user[name, variant]) for name in names for variant in arms}
    compared = {name: _welch(per_user[name, "A"], per_user[name, "B"], test.confidence_level) for name in names}
    srm = _srm(participants, test.traffic_split)
    primary = test.primary_metric
    p_primary = compared[primary]["p_value"] if primary in compared else None
    significant = p_primary is not None and p_primary < 1 - test.confidence_level
    enough = bool(primary) and all(described[primary, variant]["n"] >= settings.ABTEST_MIN_SAMPLES for variant in arms)
    winner = None
    if significant and enough and not srm["mismatch"]:
        winner = "template_b" if compared[primary]["difference"] > 0 else "template_a"
    return {
        "results": {
            label: {
                "template": template.key,
                "variant": variant,
                "participants": participants[variant],
                "metrics": {name: described[name, variant]["mean"] for name in names},
                "samples": {name: described[name, variant]["n"] for name in names},
                "std": {name: described[name, variant]["std"] for name in names},
            }
            for variant, (label, template) in arms.items()
        },
        "primary_metric": primary,
        "winner": winner,
        "confidence_level": test.confidence_level,
        "statistical_significance": significant,
        "p_values": {name: compared[name]["p_value"] for name in names},
        "differences": {
            name: {"b_minus_a": compared[name]["difference"], "confidence_interval": compared[name]["ci"]}
            for name in names
        },
        "srm": srm,
    }


def ab_test_analyze(*, test_id) -> ABTest | None:
    """Compute and store a test's results; a test past its expiry completes first. Idempotent: a rerun
    (a redelivered task) recomputes the same results from the stored events."""
    with transaction.atomic():
        test = (
            ABTest.objects.select_for_update(of=("self",))
            .select_related("template_a", "template_b")
            .filter(pk=test_id)
            .first()
        )
        if test is None:
            return None
        now = timezone.now()
        if test.status in (Status.ACTIVE, Status.PAUSED) and test.expires_at and test.expires_at <= now:
            _record(test, "ab_test.status_changed", ANALYSIS_ACTOR, **{"from": test.status, "to": Status.COMPLETED})
            test.status, test.completed_at = Status.COMPLETED, now
            forget(_route_cache_key(test.workspace_id, test.template_a_id))
        first_since_completion = test.status == Status.COMPLETED and (
            test.computed_at is None or test.computed_at < test.completed_at
        )
        test.results = ab_test_compute(test)
        test.computed_at = now
        if first_since_completion:
            results = test.results or {}
            _record(
                test,
                "ab_test.completed",
                ANALYSIS_ACTOR,
                winner=results.get("winner"),
                statistical_significance=results.get("statistical_significance"),
            )
        test.save(update_fields=["status", "completed_at", "results", "computed_at", "updated_at"])
    return test


def ab_tests_due() -> list[str]:
    """Ids of the tests the periodic analysis covers: every test not completed, and completed tests
    never analysed since completion."""
    return [
        str(pk)
        for pk in ABTest.objects.filter(
            Q(status__in=[Status.ACTIVE, Status.PAUSED])
            | Q(status=Status.COMPLETED, computed_at__lt=F("completed_at"))
            | Q(status=Status.COMPLETED, computed_at__isnull=True)
        ).values_list("pk", flat=True)
    ]
