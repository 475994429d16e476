"""AsyncPromptConfig: the asyncio client. The logic is in _core, shared with PromptConfig; this runs its plans on
httpx.AsyncClient, with tasks for background revalidation and futures for single flight."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from . import _core
from ._core import FRESH, STALE, ClientBase, Entry, Plan, Request, Sleep
from .errors import PromptConfigError
from .prompt import Generated, Prompt, generated_or_error

logger = logging.getLogger("promptconfig_client")


class AsyncPromptConfig(ClientBase):
    """The asyncio twin of PromptConfig: the same options, methods and semantics, awaited.

    Safe to share between the tasks of one event loop. Use `async with`, or await aclose() when done.
    """

    _http_class = "AsyncClient"

    def _start(self) -> None:
        self._inflight: dict[tuple, asyncio.Future] = {}
        self._tasks: set[asyncio.Task] = set()

    # -- prompts, rendered locally --------------------------------------------------------------------------------
    async def get_prompt(
        self,
        *,
        user_id: str = "",
        template_id: str | None = None,
        node_name: str | None = None,
        label: str | None = None,
        version: int | None = None,
        language: str | None = None,
        fallback: str | None = None,
    ) -> Prompt:
        """The template and the user's placeholders, from the cache when it can (see the README's cache rules)."""
        core = self._core
        target = core.target(
            user_id=user_id,
            template_id=template_id,
            node_name=node_name,
            label=label,
            version=version,
            language=language,
        )
        key = core.key(target)
        entry, state = core.lookup(key)
        if state == FRESH:
            return core.serve(entry, state)
        if state == STALE:
            self._revalidate(key, target)
            return core.serve(entry, state)
        try:
            return (await self._fetch(key, target)).prompt("network")
        except PromptConfigError as error:
            return core.recover(key, error, fallback, target)

    async def render(self, *, context: Mapping[str, Any] | None = None, **options: Any) -> str:
        """`(await get_prompt(**options)).render(context)` in one call."""
        return (await self.get_prompt(**options)).render(context or {})

    async def prefetch(self, targets: list[Mapping[str, Any]]) -> list[Prompt | PromptConfigError]:
        """Fill the cache for many prompts, 100 per request; each result is a Prompt or that item's error."""
        bodies = [self._core.target(**target) for target in targets]
        results: list[Prompt | PromptConfigError] = []
        for chunk in _core.chunks(bodies):
            plan = self._core.call(Request("POST", _core.PROMPT_DATA_BATCH, json={"requests": chunk}))
            results += self._core.prefetched(chunk, await self._run(plan))
        return results

    # -- server-side calls (never cached) -------------------------------------------------------------------------
    async def generate(self, user_id: str = "", **options: Any) -> Generated:
        body = _core.generate_request(user_id, **options)
        return Generated.from_body(await self._post("/api/v1/prompts/generate", body))

    async def generate_prompt(self, user_id: str, node_name: str, context: Mapping[str, Any] | None = None) -> str:
        body = _core.generate_request(user_id, node_name=node_name, context=context)
        return (await self._post("/api/v1/generate-prompt", body))["prompt"]

    async def generate_batch(self, requests: list[Mapping[str, Any]]) -> list[Generated | PromptConfigError]:
        results: list[Generated | PromptConfigError] = []
        for chunk in _core.chunks([_core.generate_request(**item) for item in requests]):
            answer = await self._post("/api/v1/prompts/generate/batch", {"requests": chunk})
            results += [generated_or_error(item) for item in answer["results"]]
        return results

    async def feedback(
        self,
        prompt_id: str,
        rating: int | None = None,
        effectiveness_score: float | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> dict[str, Any]:
        body = _core.feedback_request(rating, effectiveness_score, metrics)
        return await self._post(f"/api/v1/prompts/{prompt_id}/feedback", body)

    # -- observability and lifetime -------------------------------------------------------------------------------

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._core.close()
        await self._http.aclose()

    async def __aenter__(self) -> AsyncPromptConfig:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self.aclose()

    # -- running plans --------------------------------------------------------------------------------------------
    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        return (await self._run(self._core.call(Request("POST", path, json=body)))).body

    async def _run(self, plan: Plan):
        result = None
        while True:
            try:
                command = plan.send(result)
            except StopIteration as stop:
                return stop.value
            if isinstance(command, Sleep):
                await asyncio.sleep(command.seconds)
                result = None
            else:
                started, response, error = time.perf_counter(), None, None
                try:
                    response = await self._http.request(
                        **self._http_module.request_options(command.request, command.timeout)
                    )
                except self._http_module.httpx.HTTPError as exc:
                    error = exc
                result = self._http_module.outcome(command.request, started, response, error)

    async def _fetch(self, key: tuple, target: dict[str, Any]) -> Entry:
        """Fetch one entry; concurrent callers for the same entry await the one request (single flight)."""
        future = self._inflight.get(key)
        if future is not None:
            return await asyncio.shield(future)
        future = self._inflight[key] = asyncio.get_running_loop().create_future()
        try:
            entry = await self._run(self._core.fetch(key, target))
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        else:
            future.set_result(entry)
            return entry
        finally:
            self._inflight.pop(key, None)

    def _revalidate(self, key: tuple, target: dict[str, Any]) -> None:
        """Refresh a stale entry in a background task (stale-while-revalidate); one per entry at a time."""
        if key in self._inflight:
            return
        task = asyncio.get_running_loop().create_task(self._refresh(key, target))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _refresh(self, key: tuple, target: dict[str, Any]) -> None:
        try:
            await self._fetch(key, target)
        except PromptConfigError as error:
            logger.debug("background refresh of %s failed: %s", target, error.message)
