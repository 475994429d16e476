"""The seed service's templates for `seed_demo`: one per category, and a German variant."""

from promptconfig.workspaces.models import Workspace
from templates_app.models import PromptTemplate
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


def seed_templates(*, workspace: Workspace, actor: str = "system:seed_demo") -> int:
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
