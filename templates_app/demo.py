"""Demo data that `seed_demo` creates: the seed service's templates (one per category, a German variant), demo
learners' profiles, and a fortnight of generation history for the analytics."""

import hashlib
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from django.utils import timezone

from profiles.models import UserProfile
from profiles.services import profile_create
from promptconfig.workspaces.models import Workspace
from templates_app.models import Generation, PromptTemplate
from templates_app.rendering import version_render
from templates_app.services import template_create

SEED_TEMPLATES = [
    {
        "key": "content_gen_visual",
        "name": "Visual Content Generation",
        "category": "content_generation",
        "description": "Template optimized for visual learners",
        "node_name": "generating_content",
        "tags": ["education", "visual"],
        "metadata": {
            "target_audience": "visual_learners",
            "content_type": "educational",
            "optimization_goal": "engagement",
        },
        "template": (
            "You are an expert educational content creator specializing in visual learning. Create engaging content "
            "about {{ topic }} for {{ difficulty }} level students with a {{ learning_style }} learning preference."
            "{% if additional_context is defined %} {{ additional_context }}{% endif %} Include diagrams, charts, and "
            "visual examples where appropriate."
        ),
    },
    {
        "key": "content_gen_textual",
        "name": "Textual Content Generation",
        "category": "content_generation",
        "description": "Template optimized for reading/writing learners",
        "tags": ["education", "textual"],
        "metadata": {
            "target_audience": "reading_learners",
            "content_type": "educational",
            "optimization_goal": "comprehension",
        },
        "template": (
            "You are an expert educational writer. Write a clear, well-structured text lesson about {{ topic }} for "
            "{{ difficulty|format_difficulty }} readers, suited to {{ learning_style|format_learning_style }}. Use "
            "headings, short paragraphs and a summary at the end."
            "{% if additional_context is defined %} {{ additional_context }}{% endif %}"
        ),
    },
    {
        "key": "question_gen_quiz",
        "name": "Quiz Question Generation",
        "category": "question_generation",
        "description": "Multiple-choice questions matched to the learner's level",
        "tags": ["education", "assessment"],
        "metadata": {"content_type": "assessment", "optimization_goal": "retention"},
        "template": (
            "{{ 'Create five multiple-choice questions about ' ~ topic ~ ' for ' ~ (difficulty|format_difficulty) ~ '.'"
            " | add_examples(example_preference) }}\nReturn each question with four options and mark the correct one."
        ),
    },
    {
        "key": "feedback_summary",
        "name": "Learning Feedback Summary",
        "category": "feedback",
        "description": "Summarises a learner's session for a tutor",
        "tags": ["education", "feedback"],
        "metadata": {"content_type": "feedback"},
        "template": (
            "Summarise the learning session on {{ topic }} for a tutor in three bullet points. The learner prefers "
            "{{ format_preference }} explanations and studies {{ preferred_subjects|join(', ') }}."
        ),
    },
    {
        "key": "content_gen_visual",
        "language": "de",
        "name": "Visuelle Inhaltserstellung",
        "category": "content_generation",
        "description": "Vorlage für visuell Lernende",
        "node_name": "generating_content",
        "tags": ["education", "visual"],
        "metadata": {"target_audience": "visual_learners", "content_type": "educational"},
        "template": (
            "Du bist ein erfahrener Autor von Lerninhalten mit Schwerpunkt auf visuellem Lernen. Erstelle "
            "ansprechende Inhalte über {{ topic }} für Lernende auf dem Niveau {{ difficulty }} mit der Lernpräferenz "
            "{{ learning_style }}. Verwende Diagramme, Grafiken und visuelle Beispiele, wo es passt."
        ),
    },
]


def seed_templates(*, workspace: Workspace, actor: str = "seed_demo") -> int:
    """Create the seed templates that do not exist yet (existing ones are left as their authors made them)."""
    created = 0
    for seed in SEED_TEMPLATES:
        language = seed.get("language", workspace.default_language)
        if PromptTemplate.objects.filter(
            workspace=workspace, key=seed["key"], language=language, deleted_at__isnull=True
        ).exists():
            continue
        template_create(workspace=workspace, actor=actor, **{**seed, "language": language})
        created += 1
    return created


# --- Demo learners and a little generation history (so that the analytics charts show something) -------------
DEMO_PROFILES = [
    {
        "user_id": "demo-ada",
        "username": "Ada",
        "email": "ada@example.com",
        "learning_style": "visual",
        "difficulty_level": "beginner",
        "preferred_subjects": ["biology", "astronomy"],
        "content_length_preference": "short",
        "example_preference": "practical",
        "format_preference": "structured",
        "preferred_time_of_day": "morning",
    },
    {
        "user_id": "demo-ben",
        "username": "Ben",
        "email": "ben@example.com",
        "learning_style": "reading",
        "difficulty_level": "advanced",
        "preferred_subjects": ["history", "philosophy"],
        "content_length_preference": "long",
        "example_preference": "theoretical",
        "format_preference": "technical",
        "preferred_time_of_day": "evening",
    },
    {
        "user_id": "demo-chloe",
        "username": "Chloé",
        "email": "chloe@example.com",
        "learning_style": "kinesthetic",
        "difficulty_level": "intermediate",
        "preferred_subjects": ["chemistry", "physics"],
        "content_length_preference": "medium",
        "example_preference": "practical",
        "format_preference": "conversational",
        "preferred_time_of_day": "afternoon",
    },
    {
        "user_id": "demo-dev",
        "username": "Dev",
        "email": "dev@example.com",
        "learning_style": "auditory",
        "difficulty_level": "intermediate",
        "preferred_subjects": ["music theory", "languages"],
        "content_length_preference": "medium",
        "example_preference": "mixed",
        "format_preference": "conversational",
    },
    {
        "user_id": "demo-emma",
        "username": "Emma",
        "email": "emma@example.com",
        "learning_style": "visual",
        "difficulty_level": "advanced",
        "preferred_subjects": ["mathematics", "computer science"],
        "language_preference": "de",
        "content_length_preference": "medium",
        "example_preference": "mixed",
        "format_preference": "technical",
        "preferred_time_of_day": "evening",
    },
    {
        "user_id": "demo-felix",
        "username": "Felix",
        "email": "felix@example.com",
        "learning_style": "reading",
        "difficulty_level": "beginner",
        "preferred_subjects": ["geography", "economics"],
        "language_preference": "de",
        "content_length_preference": "short",
        "example_preference": "practical",
        "format_preference": "structured",
        "preferred_time_of_day": "morning",
    },
]

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


def seed_profiles(*, workspace: Workspace) -> int:
    """Create the demo learners that do not exist yet; existing profiles are left alone."""
    existing = set(UserProfile.objects.filter(workspace=workspace).values_list("user_id", flat=True))
    created = 0
    for fields in DEMO_PROFILES:
        if fields["user_id"] not in existing:
            profile_create(workspace=workspace, **fields)
            created += 1
    return created


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
        material = json.dumps([version.pk, applied, []], sort_keys=True, default=str)
        cache_key = f"prompts:{workspace.pk}:{hashlib.sha256(material.encode()).hexdigest()}"
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
