"""The authors' playground: render a version (or an unsaved body) with a profile's or given variables, send it to
the configured LLM (promptconfig.common.llm), and keep a record of each run.

Also the profile source of the templates admin's "preview as user" (settings.PROFILE_VARIABLES_SOURCE): the
templates app cannot import profiles, so it asks promptconfig.common.variables, which asks this module.
"""

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from generation.models import PlaygroundRun
from generation.services import base_variables
from profiles.models import UserProfile
from profiles.selectors import profile_variables
from promptconfig.common import llm
from promptconfig.common.errors import ApiError, NotFound
from promptconfig_client.engine import RenderError
from templates_app.models import PromptTemplate, TemplateVersion
from templates_app.rendering import ENGINE, include_loader, version_render
from templates_app.services import content_check

PROMPT_EXCERPT_CHARS = 1000
OUTPUT_EXCERPT_CHARS = 2000
PROFILE_CHOICES = 200
RUNS_LISTED = 25


# --- profiles ---------------------------------------------------------------------------------------
class ProfileSource:
    """What promptconfig.common.variables asks for (settings.PROFILE_VARIABLES_SOURCE)."""

    @staticmethod
    def user_ids(*, workspace_id: int, limit: int = PROFILE_CHOICES) -> list[str]:
        return list(
            UserProfile.objects.filter(workspace_id=workspace_id)
            .order_by("user_id")
            .values_list("user_id", flat=True)[:limit]
        )

    @staticmethod
    def variables(*, workspace_id: int, user_id: str) -> dict[str, Any]:
        """The variables a generate call for this user starts from (the profile and its derived defaults)."""
        profile = profile_variables(workspace_id=workspace_id, user_id=user_id)
        if not profile.found:
            raise NotFound(f"No profile for user '{user_id}'.")
        return base_variables(profile)


# --- rendering and running --------------------------------------------------------------------------
@dataclass
class Side:
    """One column of the playground: what was rendered and, after a run, what the model answered."""

    label: str
    version: TemplateVersion | None = None
    body: str = ""
    prompt: str = ""
    output: str = ""
    tokens: dict[str, int] = field(default_factory=dict)
    latency_ms: int | None = None
    missing: list[str] = field(default_factory=list)
    error: str = ""
    run: PlaygroundRun | None = None


def render_side(template: PromptTemplate, side: Side, variables: Mapping[str, Any]) -> Side:
    """Render a version, or an unsaved body checked as a save would check it; errors go into the side."""
    try:
        if side.version is not None:
            side.prompt = version_render(version=side.version, variables=variables)
        else:
            _, includes = content_check(template=template, body=side.body, variable_schema=None)
            resolved = None
            if includes:
                load = include_loader(workspace_id=template.workspace_id, language=template.language)
                resolved = ENGINE.resolve_includes(side.body, load)
            side.prompt = ENGINE.render(side.body, variables, includes=resolved)
    except RenderError as error:
        side.missing = list(getattr(error, "missing", []) or [])
        side.error = error.message
    except ApiError as error:
        side.error = error.message
    return side


def run_sides(
    template: PromptTemplate,
    sides: list[Side],
    *,
    actor: str,
    model: str,
    params: Mapping[str, Any],
    profile_user_id: str = "",
) -> list[Side]:
    """Send each rendered side to the LLM, at the same time (a page waits for the slower one, at most
    LLM_PLAYGROUND_TIMEOUT), and record every run, a failed call too, with its error."""
    ready = [side for side in sides if side.prompt and not side.error]

    def call(side: Side) -> llm.Completion | ApiError:
        try:
            messages = [{"role": "user", "content": side.prompt}]
            return llm.chat(messages, model=model, params=params, timeout=settings.LLM_PLAYGROUND_TIMEOUT)
        except ApiError as error:
            return error

    with ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(call, ready))
    for side, outcome in zip(ready, outcomes, strict=True):
        run = PlaygroundRun(
            template=template,
            version=side.version,
            created_by=actor,
            profile_user_id=profile_user_id,
            model=model,
            params=dict(params),
            prompt_excerpt=side.prompt[:PROMPT_EXCERPT_CHARS],
        )
        if isinstance(outcome, ApiError):
            side.error = run.error = f"{outcome.code}: {outcome.message}"
        else:
            side.output, side.tokens, side.latency_ms = outcome.text, outcome.tokens, outcome.latency_ms
            run.output_excerpt = outcome.text[:OUTPUT_EXCERPT_CHARS]
            run.prompt_tokens, run.completion_tokens = outcome.prompt_tokens, outcome.completion_tokens
            run.total_tokens, run.latency_ms = outcome.total_tokens, outcome.latency_ms
        run.save()
        side.run = run
    return sides


def run_list(*, template: PromptTemplate, limit: int = RUNS_LISTED) -> list[PlaygroundRun]:
    return list(PlaygroundRun.objects.filter(template=template).select_related("version")[:limit])
