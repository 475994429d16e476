"""LLM refinements of a template version: start one, run it (Celery), check its proposal, apply it.

The model gets the version's body, its variables, the static review's suggestions and the author's goal, and
answers a JSON object `{"template", "rationale"}`. The proposed body is checked as any body is before it is
stored (syntax, the engine's size and sandbox rules, includes, the variable schema) and must use the same
variables as the version, unless the goal names the ones it adds or drops. A proposal that fails is a failed
refinement with the reason: a broken body is never stored. Applying a proposal saves it as a new version
through templates_app.services.template_update (not served unless asked), its change note naming the refinement.
"""

import difflib
import json
import re
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from jinja2 import Environment, nodes

from promptconfig.common import llm
from promptconfig.common.errors import ApiError, Conflict, NotFound
from promptconfig.common.variables import PROFILE_VARIABLES
from promptconfig_client.engine import RenderError
from templates_app import services
from templates_app.models import PromptTemplate, Refinement, TemplateVersion
from templates_app.rendering import ENGINE
from templates_app.review import suggestions_for
from templates_app.selectors import version_get

Status = Refinement.Status
MAX_ERROR_CHARS = 2000
MAX_RATIONALE_CHARS = 4000
SYSTEM_PROMPT = (
    "You revise prompt templates written in Jinja2 (rendered in a sandbox). You get the current template, the "
    "variables it uses, a static review's suggestions and the author's goal. Answer with one JSON object and "
    'nothing else: {"template": "<the whole revised Jinja2 template>", "rationale": "<what you changed and '
    'why, in a few sentences>"}. Keep every {{ variable }} and {% include %} the template uses unless the goal '
    "asks to drop it, add no new variables unless the goal asks for them, and never access attributes that "
    "start with an underscore."
)


class ProposalRejected(Exception):
    """The model's proposal cannot be stored as a body; the message says why."""


# --- start ---------------------------------------------------------------------------------------
@transaction.atomic
def refinement_start(
    *, template: PromptTemplate, actor: str, goal: str, version: int | None = None, model: str | None = None
) -> Refinement:
    """A queued refinement of version `version` (default: the served one, else the latest). Needs an LLM
    endpoint (503 otherwise); the caller queues refinement_run for it once committed."""
    llm.require_configured()
    number = version or (template.served_version.number if template.served_version else template.latest_version_number)
    source = version_get(template=template, number=number)
    return Refinement.objects.create(
        template=template, version=source, goal=goal, model=model or settings.LLM_MODEL, created_by=actor
    )


# --- run -----------------------------------------------------------------------------------------
def messages_for(refinement: Refinement) -> list[dict[str, str]]:
    version = refinement.version
    request = {
        "goal": refinement.goal,
        "template": version.body,
        "variables": version.all_variables,
        "review_suggestions": [
            {"severity": item["severity"], "message": item["message"]} for item in suggestions_for(version)
        ],
    }
    return [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": json.dumps(request, ensure_ascii=False, indent=1)},
    ]


def refinement_run(refinement_id: int) -> Refinement | None:
    """Ask the model and store the outcome; a finished refinement is left as it is (a redelivered task)."""
    with transaction.atomic():
        refinement = (
            Refinement.objects.select_for_update()
            .select_related("template__workspace", "version__template")
            .filter(pk=refinement_id)
            .first()
        )
        if refinement is None or refinement.status in (Status.SUCCEEDED, Status.FAILED):
            return refinement
        refinement.status = Status.RUNNING
        refinement.save(update_fields=["status"])
    try:
        completion = llm.chat(messages_for(refinement), model=refinement.model, json_object=True)
    except ApiError as error:
        return _finish(refinement, error=f"{error.code}: {error.message}")
    refinement.prompt_tokens = completion.prompt_tokens
    refinement.completion_tokens = completion.completion_tokens
    refinement.total_tokens = completion.total_tokens
    refinement.latency_ms = completion.latency_ms
    try:
        body, rationale = parse_answer(completion.text)
        proposal_check(refinement.template, refinement.version, body, refinement.goal)
    except ProposalRejected as rejected:
        return _finish(refinement, error=str(rejected))
    return _finish(refinement, proposed_template=body, rationale=rationale)


def refinement_fail(refinement_id: int, error: str) -> None:
    """Fail a refinement that has not finished (its task could not be queued)."""
    with transaction.atomic():
        refinement = Refinement.objects.select_for_update().filter(pk=refinement_id).first()
        if refinement is not None and refinement.status in (Status.QUEUED, Status.RUNNING):
            _finish(refinement, error=error)


def _finish(refinement: Refinement, *, error: str = "", proposed_template: str = "", rationale: str = "") -> Refinement:
    refinement.status = Status.FAILED if error else Status.SUCCEEDED
    refinement.error = error[:MAX_ERROR_CHARS]
    refinement.proposed_template = proposed_template
    refinement.rationale = rationale[:MAX_RATIONALE_CHARS]
    refinement.finished_at = timezone.now()
    refinement.save()
    return refinement


def parse_answer(text: str) -> tuple[str, str]:
    """(template, rationale) from the model's JSON answer."""
    try:
        answer = json.loads(text)
    except (ValueError, RecursionError):
        raise ProposalRejected("The model's answer is not JSON.") from None
    if not isinstance(answer, dict) or not isinstance(answer.get("template"), str):
        raise ProposalRejected('The model\'s answer has no "template" string.')
    rationale = answer.get("rationale")
    if not answer["template"].strip():
        raise ProposalRejected("The model proposed an empty template.")
    return answer["template"], rationale if isinstance(rationale, str) else ""


# --- checks --------------------------------------------------------------------------------------
def _named_in(goal: str, name: str) -> bool:
    return re.search(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", goal) is not None


def _private_access(body: str) -> str | None:
    """An attribute or item starting with an underscore (`''.__class__`, `x['__globals__']`): the first one."""
    tree = Environment().parse(body)
    for node in tree.find_all((nodes.Getattr, nodes.Getitem)):
        name = node.attr if isinstance(node, nodes.Getattr) else getattr(node.arg, "value", None)
        if isinstance(name, str) and name.startswith("_"):
            return name
    return None


def proposal_check(template: PromptTemplate, version: TemplateVersion, body: str, goal: str) -> list[str]:
    """Refuse (ProposalRejected) a body that could not be saved, escapes the sandbox, or changes the variables
    the goal does not name; return the variables it uses."""
    try:
        used, includes = services.content_check(template=template, body=body, variable_schema=version.variable_schema)
    except (RenderError, ApiError) as error:
        raise ProposalRejected(f"The proposal is not a valid template: {error.message}") from None
    if name := _private_access(body):
        raise ProposalRejected(f"The proposal tries to reach '{name}', which the sandbox forbids.")
    try:  # a trial render with placeholder values: anything else the sandbox refuses
        if not includes:
            ENGINE.render(body, dict.fromkeys(used, "sample"))
    except RenderError as error:
        if error.message.startswith("Not allowed"):
            raise ProposalRejected(f"The proposal does something the sandbox forbids: {error.message}") from None
    dropped = sorted(name for name in set(version.used_variables) - set(used) if not _named_in(goal, name))
    if dropped:
        raise ProposalRejected(f"The proposal drops the variables {', '.join(dropped)}, which the goal does not name.")
    known = set(version.all_variables) | PROFILE_VARIABLES
    added = sorted(name for name in set(used) - known if not _named_in(goal, name))
    if added:
        raise ProposalRejected(f"The proposal adds the variables {', '.join(added)}, which the goal does not name.")
    return used


def proposal_diff(refinement: Refinement) -> str:
    if not refinement.proposed_template:
        return ""
    lines = difflib.unified_diff(
        refinement.version.body.splitlines(),
        refinement.proposed_template.splitlines(),
        fromfile=f"v{refinement.version.number}",
        tofile="proposal",
        lineterm="",
    )
    return "".join(f"{line}\n" for line in lines)


# --- read, apply ---------------------------------------------------------------------------------
def refinement_list(*, template: PromptTemplate):
    return Refinement.objects.filter(template=template).select_related("version", "applied_version")


def refinement_get(*, template: PromptTemplate, refinement_id: int) -> Refinement:
    refinement = refinement_list(template=template).filter(pk=refinement_id).first()
    if refinement is None:
        raise NotFound(f"Template '{template.key}' has no refinement {refinement_id}.")
    return refinement


@transaction.atomic
def refinement_apply(*, template: PromptTemplate, refinement_id: int, actor: str, publish: bool = False) -> Any:
    """Save the proposal as a new version (served only with `publish`); returns the refinement."""
    refinement = (
        Refinement.objects.select_for_update().select_related("version").filter(pk=refinement_id, template=template)
    ).first()
    if refinement is None:
        raise NotFound(f"Template '{template.key}' has no refinement {refinement_id}.")
    if refinement.status != Status.SUCCEEDED:
        raise Conflict(f"Refinement {refinement_id} is {refinement.status}: only a succeeded one can be applied.")
    if refinement.applied_version_id:
        number = TemplateVersion.objects.get(pk=refinement.applied_version_id).number
        raise Conflict(f"Refinement {refinement_id} was applied already, as v{number}.")
    before = template.latest_version_number
    source = refinement.version
    services.template_update(
        template,
        actor=actor,
        publish=publish,
        change_note=f"Refinement #{refinement.pk} of v{source.number}: {refinement.goal}"[:1000],
        template=refinement.proposed_template,
        variables=source.variables,
        variable_schema=source.variable_schema,
        model_config=source.model_config,
    )
    if template.latest_version_number == before:
        raise Conflict("The proposal is the same as the latest version: there is nothing to apply.")
    refinement.applied_version = template.versions.get(number=template.latest_version_number)
    refinement.save(update_fields=["applied_version"])
    return refinement
