"""PromptConfig: the thread-safe client. The logic is in _core; this runs its plans on httpx.Client, with a
thread pool for background revalidation and futures for single flight."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from . import _core
from ._core import FRESH, STALE, ClientBase, Entry, Plan, Request, Sleep
from .errors import PromptConfigError
from .prompt import Generated, Prompt, generated_or_error

logger = logging.getLogger("promptconfig_client")


class PromptConfig(ClientBase):
    """A PromptConfig client: cached prompt-data rendered locally, and the server-side calls.

    Safe to share between threads. Use it as a context manager, or call close() when done.
    """

    _http_class = "Client"

    def _start(self) -> None:
        self._lock = threading.Lock()
        self._inflight: dict[tuple, Future] = {}
        self._background = ThreadPoolExecutor(max_workers=4, thread_name_prefix="promptconfig-revalidate")

    # -- prompts, rendered locally --------------------------------------------------------------------------------
    def get_prompt(
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
            return self._fetch(key, target).prompt("network")
        except PromptConfigError as error:
            return core.recover(key, error, fallback, target)

    def render(self, *, context: Mapping[str, Any] | None = None, **options: Any) -> str:
        """`get_prompt(**options).render(context)` in one call."""
        return self.get_prompt(**options).render(context or {})

    def prefetch(self, targets: list[Mapping[str, Any]]) -> list[Prompt | PromptConfigError]:
        """Fill the cache for many prompts, 100 per request; each result is a Prompt or that item's error."""
        bodies = [self._core.target(**target) for target in targets]
        results: list[Prompt | PromptConfigError] = []
        for chunk in _core.chunks(bodies):
            reply = self._run(self._core.call(Request("POST", _core.PROMPT_DATA_BATCH, json={"requests": chunk})))
            results += self._core.prefetched(chunk, reply)
        return results

    # -- server-side calls (never cached) -------------------------------------------------------------------------
    def generate(self, user_id: str = "", **options: Any) -> Generated:
        """Render on the server (and store the prompt, for feedback): see generate_request for the options."""
        body = _core.generate_request(user_id, **options)
        return Generated.from_body(self._post("/api/v1/prompts/generate", body))

    def generate_prompt(self, user_id: str, node_name: str, context: Mapping[str, Any] | None = None) -> str:
        body = _core.generate_request(user_id, node_name=node_name, context=context)
        return self._post("/api/v1/generate-prompt", body)["prompt"]

    def generate_batch(self, requests: list[Mapping[str, Any]]) -> list[Generated | PromptConfigError]:
        """Many generations, 100 per request; each result is a Generated or that item's error, in order."""
        results: list[Generated | PromptConfigError] = []
        for chunk in _core.chunks([_core.generate_request(**item) for item in requests]):
            results += [
                generated_or_error(item)
                for item in self._post("/api/v1/prompts/generate/batch", {"requests": chunk})["results"]
            ]
        return results

    def feedback(
        self,
        prompt_id: str,
        rating: int | None = None,
        effectiveness_score: float | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> dict[str, Any]:
        """Feedback on a generated prompt (sending it again replaces it); returns the prompt record."""
        body = _core.feedback_request(rating, effectiveness_score, metrics)
        return self._post(f"/api/v1/prompts/{prompt_id}/feedback", body)

    # -- observability and lifetime -------------------------------------------------------------------------------

    def close(self) -> None:
        self._background.shutdown(wait=False, cancel_futures=True)
        self._core.close()
        self._http.close()

    def __enter__(self) -> PromptConfig:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- running plans --------------------------------------------------------------------------------------------
    def _post(self, path: str, body: dict[str, Any]) -> Any:
        return self._run(self._core.call(Request("POST", path, json=body))).body

    def _run(self, plan: Plan):
        result = None
        while True:
            try:
                command = plan.send(result)
            except StopIteration as stop:
                return stop.value
            if isinstance(command, Sleep):
                time.sleep(command.seconds)
                result = None
            else:
                started, response, error = time.perf_counter(), None, None
                try:
                    response = self._http.request(**self._http_module.request_options(command.request, command.timeout))
                except self._http_module.httpx.HTTPError as exc:
                    error = exc
                result = self._http_module.outcome(command.request, started, response, error)

    def _fetch(self, key: tuple, target: dict[str, Any]) -> Entry:
        """Fetch one entry; concurrent callers for the same entry wait for the one request (single flight)."""
        with self._lock:
            future = self._inflight.get(key)
            leader = future is None
            if leader:
                future = self._inflight[key] = Future()
        if not leader:
            return future.result()
        try:
            entry = self._run(self._core.fetch(key, target))
        except BaseException as exc:
            future.set_exception(exc)
            raise
        else:
            future.set_result(entry)
            return entry
        finally:
            with self._lock:
                self._inflight.pop(key, None)

    def _revalidate(self, key: tuple, target: dict[str, Any]) -> None:
        """Refresh a stale entry in the background (stale-while-revalidate); one refresh per entry at a time."""
        with self._lock:
            if key in self._inflight:
                return
        with contextlib.suppress(RuntimeError):  # closed
            self._background.submit(self._refresh, key, target)

    def _refresh(self, key: tuple, target: dict[str, Any]) -> None:
        try:
            self._fetch(key, target)
        except PromptConfigError as error:
            logger.debug("background refresh of %s failed: %s", target, error.message)
