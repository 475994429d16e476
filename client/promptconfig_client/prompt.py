"""What the client hands out: a Prompt to render locally, and the answer of a server-side generation."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .engine import DEFAULT_ENGINE, RenderError
from .errors import PromptConfigError, error_for


def _moment(epoch: float | None) -> datetime | None:
    return None if epoch is None else datetime.fromtimestamp(epoch, UTC)


@dataclass(frozen=True, slots=True)
class Prompt:
    """A template with the user's placeholders, ready to render locally with the server's engine.

    `render()` gives byte for byte the text `generate` would give for the same variables. `source` says where it
    came from: `network` (fetched now), `cache` (fresh in the client's cache), `stale` (expired, served because
    the server could not answer or while it revalidates), `snapshot` (from the snapshot file), `fallback`.
    """

    template_id: str
    template_version: int | None
    language: str | None
    template: str
    includes: dict[str, str]
    user_placeholders: dict[str, Any]
    required: list[str]
    optional: list[str]
    model_config: dict | None
    variable_schema: dict | None
    ab_test: dict | None
    etag: str | None
    fetched_at: datetime | None
    expires_at: datetime | None
    source: str
    deprecated: bool = False  # the template is deprecated: move to its successor
    _expires: float | None = field(default=None, repr=False, compare=False)

    @property
    def _compiled_key(self) -> tuple:
        """The engine's compiled-template key: one per body, shared by every user's prompt of that version."""
        return ("promptconfig", self.template_id, self.language, self.template_version, hash(self.template))

    @property
    def is_stale(self) -> bool:
        """Past its freshness lifetime (a fallback never is)."""
        return self._expires is not None and time.time() >= self._expires

    def render(self, variables: Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
        """The prompt text: the user's placeholders, then `variables`, then keyword arguments (the caller wins).
        A required placeholder left out raises MissingVariables naming every missing one; a schema violation
        InvalidVariables; anything else the engine refuses TemplateError."""
        values = {**self.user_placeholders, **(variables or {}), **kwargs}
        try:
            return DEFAULT_ENGINE.render(
                self.template,
                values,
                includes=self.includes or None,
                schema=self.variable_schema,
                cache_key=self._compiled_key,
            )
        except RenderError as exc:
            raise error_for(exc.code, exc.message, exc.details) from None

    @classmethod
    def from_body(cls, body: Mapping[str, Any], *, etag: str | None, fetched: float, expires: float, source: str):
        return cls(
            template_id=body["template_id"],
            template_version=body.get("template_version"),
            language=body.get("language"),
            template=body["template"],
            includes=dict(body.get("includes") or {}),
            user_placeholders=dict(body.get("user_placeholders") or {}),
            required=list(body.get("required_dynamic_placeholders") or []),
            optional=list(body.get("optional_dynamic_placeholders") or []),
            model_config=body.get("model_config"),
            variable_schema=body.get("variable_schema"),
            ab_test=body.get("ab_test"),
            etag=etag,
            fetched_at=_moment(fetched),
            expires_at=_moment(expires),
            source=source,
            deprecated=bool(body.get("deprecated")),
            _expires=expires,
        )

    @classmethod
    def fallback(cls, template: str, *, template_id: str) -> Prompt:
        """A caller's own body, used when nothing could be fetched: rendered with the caller's variables alone."""
        return cls(
            template_id=template_id,
            template_version=None,
            language=None,
            template=template,
            includes={},
            user_placeholders={},
            required=[],
            optional=[],
            model_config=None,
            variable_schema=None,
            ab_test=None,
            etag=None,
            fetched_at=None,
            expires_at=None,
            source="fallback",
        )


@dataclass(frozen=True, slots=True)
class Generated:
    """The answer of `generate`: the server rendered and stored the prompt (`prompt_id` takes feedback)."""

    prompt_id: str
    text: str
    template_id: str
    template_version: int
    language: str
    variables_applied: dict[str, Any]
    ab_test: dict | None
    cache_hit: bool
    deprecated: bool = False

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> Generated:
        return cls(
            prompt_id=body["prompt_id"],
            text=body["generated_prompt"],
            template_id=body["template_used"],
            template_version=body["template_version"],
            language=body["language"],
            variables_applied=body.get("variables_applied") or {},
            ab_test=body.get("ab_test"),
            cache_hit=bool(body.get("cache_hit")),
            deprecated=bool(body.get("deprecated")),
        )


def generated_or_error(item: Mapping[str, Any]) -> Generated | PromptConfigError:
    """One result of a batch: a Generated, or the item's own error (never raised)."""
    if "error" in item:
        error = item["error"]
        return error_for(error.get("code", ""), error.get("message", ""), error.get("details"))
    return Generated.from_body(item)
