"""A fortnight of generation history for `seed_demo`, so that the analytics charts show something."""

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from generation.models import Generation
from generation.services import prompt_cache_key
from promptconfig.workspaces.management.commands._demo.profiles import DEMO_PROFILES
from promptconfig.workspaces.models import Workspace
from templates_app.models import PromptTemplate
from templates_app.rendering import version_render

TOPICS = {
    "biology": ["photosynthesis", "cell division", "the human heart"],
    "astronomy": ["the phases of the moon", "black holes"],
    "history": ["the printing press", "the fall of Rome"],
    "philosophy": ["Stoicism", "the trolley problem"],
    "chemistry": ["acids and bases", "chemical bonding"],
    "physics": ["Newton's laws of motion", "electric circuits"],
    "music theory": ["major and minor scales", "rhythm and meter"],
    "languages": ["Spanish past tenses", "false friends"],
    "mathematics": ["linear equations", "probability"],
    "computer science": ["binary search", "recursion"],
    "geography": ["plate tectonics", "river systems"],
    "economics": ["supply and demand", "inflation"],
}

# How often each seed template is used, and how its users tend to rate it (mean of 1-5).
HISTORY_MIX = [
    (("content_gen_visual", "en"), 34, 4.4),
    (("content_gen_textual", "en"), 24, 3.8),
    (("question_gen_quiz", "en"), 20, 3.4),
    (("feedback_summary", "en"), 12, 4.0),
    (("content_gen_visual", "de"), 10, 4.1),
]
HISTORY_DAYS = 14
HISTORY_SIZE = 200
CACHE_HIT_SHARE = 0.6
PROMPT_TTL = timedelta(hours=1)
HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 9, 8, 9, 10, 10, 9, 8, 8, 9, 8, 6, 4, 2]  # UTC, 00-23


def _variables(profile: dict[str, Any], topic: str) -> dict[str, Any]:
    """What a generation for this learner applies: their profile fields plus the request's topic."""
    return {
        "topic": topic,
        "difficulty": profile["difficulty_level"],
        "difficulty_level": profile["difficulty_level"],
        "learning_style": profile["learning_style"],
        "content_length_preference": profile.get("content_length_preference", "medium"),
        "example_preference": profile.get("example_preference", "practical"),
        "format_preference": profile.get("format_preference", "structured"),
        "preferred_subjects": profile["preferred_subjects"],
    }


def _moment(rng: random.Random, day_start: datetime, now: datetime) -> datetime:
    """A time on this day, mostly in waking hours, never after now."""
    if now - day_start < timedelta(days=1):
        return day_start + (now - day_start) * rng.random()
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    return day_start + timedelta(hours=hour, seconds=rng.randrange(3600))


def seed_generations(
    *,
    workspace: Workspace,
    count: int = HISTORY_SIZE,
    days: int = HISTORY_DAYS,
    now: datetime | None = None,
    seed: int = 7,
) -> int:
    """About `count` rendered prompts over the last `days` days across the seed templates, some of them rated.

    Only for a workspace without any generation yet (so running it again adds nothing). Texts are real renders of
    the served versions; about 60% are cache hits; a third carry a rating and an effectiveness score. The templates'
    usage and rating statistics are updated as the generation and feedback services would have.
    """
    if Generation.objects.filter(workspace=workspace).exists():
        return 0
    templates = {
        (template.key, template.language): template
        for template in PromptTemplate.objects.filter(workspace=workspace, deleted_at__isnull=True).select_related(
            "served_version__template"
        )
        if template.served_version is not None
    }
    mix = [(templates[slot], share, mean) for slot, share, mean in HISTORY_MIX if slot in templates]
    if not mix:
        return 0
    rng = random.Random(seed)
    now = now or timezone.now()
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    day_starts = [today - timedelta(days=back) for back in range(days - 1, -1, -1)]
    # Usage grows over the fortnight; weekends are quieter; today is not over yet.
    day_weights = [
        (1 + 0.07 * index) * (0.55 if start.weekday() >= 5 else 1.0) * (0.6 if start == today else 1.0)
        for index, start in enumerate(day_starts)
    ]
    texts: dict[tuple[int, str], str] = {}
    records = []
    for _ in range(count):
        template, _share, mean = rng.choices(mix, weights=[share for _, share, _ in mix])[0]
        speakers = [p for p in DEMO_PROFILES if p.get("language_preference", "en") == template.language]
        profile = rng.choice(speakers or DEMO_PROFILES)
        topic = rng.choice(TOPICS[rng.choice(profile["preferred_subjects"])])
        version = template.served_version
        used = set(version.used_variables)
        applied = {name: value for name, value in sorted(_variables(profile, topic).items()) if name in used}
        cache_key = prompt_cache_key(workspace.pk, version, applied, {})
        if (version.pk, cache_key) not in texts:
            texts[(version.pk, cache_key)] = version_render(version=version, variables=applied)
        created_at = _moment(rng, rng.choices(day_starts, weights=day_weights)[0], now)
        cache_hit = rng.random() < CACHE_HIT_SHARE
        record = Generation(
            id=uuid.uuid4(),
            workspace=workspace,
            template=template,
            version=version,
            template_key=template.key,
            language=template.language,
            user_id=profile["user_id"],
            context={"source": "seed_demo", "session": f"s{rng.randrange(10_000):04d}"},
            variables=applied,
            text=texts[(version.pk, cache_key)],
            cache_key=cache_key,
            cache_hit=cache_hit,
            latency_ms=round(rng.uniform(0.4, 2.5) if cache_hit else rng.uniform(6, 45), 3),
            expires_at=created_at + PROMPT_TTL,
            created_at=created_at,
        )
        if rng.random() < 0.35:
            rating = min(5, max(1, round(rng.gauss(mean, 0.8))))
            record.rating = rating
            record.effectiveness_score = round(min(1.0, max(0.05, (rating - 1) / 4 * 0.8 + rng.uniform(0.1, 0.2))), 3)
            record.feedback_metrics = {
                "completion_rate": round(rng.uniform(0.5, 1.0), 2),
                "time_spent_seconds": round(rng.uniform(60, 900)),
            }
            record.feedback_at = created_at + timedelta(minutes=rng.randrange(2, 90))
        records.append(record)
    Generation.objects.bulk_create(records)
    _add_to_template_stats(records)
    return len(records)


def _add_to_template_stats(records: list[Generation]) -> None:
    """Fold the records into their templates' usage count and running rating / success means."""
    for template_id in {record.template_id for record in records}:
        mine = [record for record in records if record.template_id == template_id]
        ratings = [record.rating for record in mine if record.rating is not None]
        scores = [record.effectiveness_score for record in mine if record.effectiveness_score is not None]
        template = PromptTemplate.objects.get(pk=template_id)
        template.usage_count += len(mine)
        if ratings:
            total = template.average_rating * template.rating_count + sum(ratings)
            template.rating_count += len(ratings)
            template.average_rating = round(total / template.rating_count, 4)
        if scores:
            total = template.success_rate * template.feedback_count + sum(scores)
            template.feedback_count += len(scores)
            template.success_rate = round(total / template.feedback_count, 4)
        template.save(update_fields=["usage_count", "average_rating", "rating_count", "success_rate", "feedback_count"])
