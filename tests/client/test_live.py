"""The Python client against the real service under gunicorn (PostgreSQL, Redis): local renders equal the
server's, the cache revalidates with 304s, refreshes in the background, makes one request for many callers,
and keeps serving while the server is stopped; the breaker stops touching the network and closes again."""

import asyncio
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import pytest

import promptconfig_client as pcc
from promptconfig_client import (
    AsyncPromptConfig,
    CircuitOpen,
    MissingVariables,
    NotFound,
    PromptConfig,
    ServiceUnavailable,
)
from tests.support.proxy import TcpProxy
from tests.support.servers import gunicorn_process, stop, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.redis]
NODE = {"user_id": "u42", "node_name": "generating_content"}


def proxy_to(live) -> TcpProxy:
    return TcpProxy("127.0.0.1", live.served.port)


def test_a_local_render_is_byte_for_byte_the_servers_generate(live):
    with PromptConfig(live.url, api_key=live.key) as pc:
        prompt = pc.get_prompt(**NODE)
        assert prompt.source == "network" and prompt.template_id == "lesson" and prompt.template_version == 1
        assert prompt.required == ["topic"] and prompt.optional == ["additional_context"]
        for context in ({"topic": "volcanoes"}, {"topic": "tides", "additional_context": "with a diagram"}):
            served = pc.generate("u42", node_name="generating_content", context=context)
            assert prompt.render(context) == served.text
        assert pc.render(context={"topic": "volcanoes"}, **NODE) == prompt.render(topic="volcanoes")
        assert pc.get_prompt(**NODE).source == "cache"
        with pytest.raises(MissingVariables) as missing:
            prompt.render()
        assert missing.value.missing == ["topic"]
        with pytest.raises(NotFound):
            pc.get_prompt(template_id="nope")
        assert pc.stats()["requests"] == 4  # one prompt-data, two generates, one 404


def test_after_the_ttl_the_entry_is_revalidated_with_a_304(live):
    with PromptConfig(live.url, api_key=live.key, cache_ttl=1) as pc:
        first = pc.get_prompt(**NODE)
        time.sleep(1.1)
        stale = pc.get_prompt(**NODE)  # served at once, refreshed behind it
        assert stale.source == "stale" and stale.etag == first.etag
        wait_for(lambda: pc.stats()["not_modified"] == 1, 10, "the background revalidation")
        assert pc.get_prompt(**NODE).source == "cache"
        assert live.answered("prompt-data", "200") == 1 and live.answered("prompt-data", "304") == 1
        stats = pc.stats()
        assert stats["revalidations"] == 1 and stats["stale_served"] == 1 and stats["cache_hits"] == 1


def test_stale_while_revalidate_answers_at_once_and_refreshes_once(live):
    proxy = proxy_to(live)
    with PromptConfig(f"http://127.0.0.1:{proxy.port}", api_key=live.key, cache_ttl=1, timeout=5) as pc:
        pc.get_prompt(**NODE)
        time.sleep(1.1)
        proxy.delay = 1.0  # the server now takes a second to answer
        started = time.perf_counter()
        answers = [pc.get_prompt(**NODE) for _ in range(20)]
        assert time.perf_counter() - started < 0.5
        assert {answer.source for answer in answers} == {"stale"}
        wait_for(lambda: pc.stats()["not_modified"] == 1, 10, "the background revalidation")
        assert live.answered("prompt-data") == 2  # the first fetch and one revalidation for twenty callers
    proxy.stop()


def test_one_request_for_a_hundred_threads_asking_for_one_missing_entry(live):
    proxy = proxy_to(live)
    proxy.delay = 0.5
    with PromptConfig(f"http://127.0.0.1:{proxy.port}", api_key=live.key, timeout=5) as pc:
        barrier, prompts = threading.Barrier(100), []

        def ask():
            barrier.wait()
            prompts.append(pc.get_prompt(**NODE))

        threads = [threading.Thread(target=ask) for _ in range(100)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(prompts) == 100 and {prompt.etag for prompt in prompts} == {prompts[0].etag}
        assert pc.stats()["requests"] == 1 and live.answered("prompt-data") == 1
    proxy.stop()


def test_one_request_for_a_hundred_tasks_asking_for_one_missing_entry(live):
    proxy = proxy_to(live)
    proxy.delay = 0.5

    async def main():
        async with AsyncPromptConfig(f"http://127.0.0.1:{proxy.port}", api_key=live.key, timeout=5) as pc:
            prompts = await asyncio.gather(*(pc.get_prompt(**NODE) for _ in range(100)))
            assert {prompt.source for prompt in prompts} == {"network"}
            assert (await pc.get_prompt(**NODE)).source == "cache"
            text = await pc.render(context={"topic": "moss"}, **NODE)
            assert text == (await pc.generate("u42", node_name="generating_content", context={"topic": "moss"})).text
            return pc.stats()

    stats = asyncio.run(main())
    assert stats["requests"] == 2 and live.answered("prompt-data") == 1  # one prompt-data, one generate
    proxy.stop()


def test_a_stopped_server_leaves_stale_entries_served_until_max_stale(live):
    with PromptConfig(live.url, api_key=live.key, cache_ttl=1, max_stale=2, timeout=0.5, retries=0) as pc:
        fetched = pc.get_prompt(**NODE)
        stop(live.served.process)
        with pytest.raises(ServiceUnavailable):
            pc.generate("u42", node_name="generating_content", context={"topic": "x"})
        assert pc.get_prompt(**NODE).source == "cache"  # still fresh
        time.sleep(1.1)
        stale = pc.get_prompt(**NODE)
        assert stale.source == "stale" and stale.is_stale and stale.render(topic="x") == fetched.render(topic="x")
        wait_for(lambda: pc.stats()["network_errors"] >= 2, 5, "the failed background refresh")
        assert pc.get_prompt(**NODE).source == "stale"
        time.sleep(2)  # past max_stale
        with pytest.raises(ServiceUnavailable):
            pc.get_prompt(**NODE)
        fallback = pc.get_prompt(fallback="About {{ topic }}.", **NODE)
        assert fallback.source == "fallback" and fallback.render(topic="x") == "About x."
        never = pc.get_prompt(user_id="u7", template_id="lesson", fallback="Plain {{ topic }}")
        assert never.source == "fallback" and never.render({"topic": "y"}) == "Plain y"
        stats = pc.stats()
        assert stats["stale_served"] >= 2 and stats["fallbacks_served"] == 2


SNAPSHOT_READER = """
import sys
from promptconfig_client import PromptConfig
with PromptConfig(sys.argv[1], api_key=sys.argv[2], snapshot_path=sys.argv[3], timeout=0.5, retries=0) as pc:
    prompt = pc.get_prompt(user_id="u42", node_name="generating_content")
    print(prompt.source, prompt.render(topic="lava"), sep="|")
"""


def test_a_new_process_serves_from_the_snapshot_while_the_server_is_down(live, tmp_path):
    snapshot = tmp_path / "prompts.json"
    with PromptConfig(live.url, api_key=live.key, snapshot_path=str(snapshot)) as pc:
        expected = pc.get_prompt(**NODE).render(topic="lava")
    assert snapshot.exists()
    stop(live.served.process)
    result = subprocess.run(
        [sys.executable, "-c", SNAPSHOT_READER, live.url, live.key, str(snapshot)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == f"snapshot|{expected}"
    other_key = subprocess.run(
        [sys.executable, "-c", SNAPSHOT_READER, live.url, "pc_another_key", str(snapshot)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert other_key.returncode != 0 and "ServiceUnavailable" in other_key.stderr  # not another key's snapshot


def test_the_breaker_stops_touching_the_network_then_a_trial_closes_it(live):
    proxy = proxy_to(live)
    options = {"timeout": 0.5, "retries": 1, "breaker_failures": 3, "breaker_reset": 1.0}
    with PromptConfig(f"http://127.0.0.1:{proxy.port}", api_key=live.key, **options) as pc:
        proxy.dropping = True  # the server is unreachable: every connection is dropped
        for _ in range(3):
            with pytest.raises(ServiceUnavailable):
                pc.get_prompt(**NODE)
        assert pc.stats()["breaker_state"] == "open" and proxy.accepted == 6  # three calls of two attempts
        for _ in range(5):
            with pytest.raises(CircuitOpen):
                pc.get_prompt(**NODE)
        assert proxy.accepted == 6 and pc.stats()["breaker_rejections"] == 5  # no connection was made
        proxy.dropping = False  # the server is back
        time.sleep(1.1)
        assert pc.stats()["breaker_state"] == "half_open"
        assert pc.get_prompt(**NODE).source == "network"  # the trial
        assert pc.stats()["breaker_state"] == "closed" and proxy.accepted == 7
    proxy.stop()


def test_the_breaker_reopens_when_the_trial_fails(live):
    proxy = proxy_to(live)
    options = {"timeout": 0.5, "retries": 0, "breaker_failures": 1, "breaker_reset": 0.5}
    with PromptConfig(f"http://127.0.0.1:{proxy.port}", api_key=live.key, **options) as pc:
        proxy.dropping = True
        with pytest.raises(ServiceUnavailable):
            pc.get_prompt(**NODE)
        time.sleep(0.6)
        with pytest.raises(ServiceUnavailable):
            pc.get_prompt(**NODE)  # the trial, failed
        with pytest.raises(CircuitOpen):
            pc.get_prompt(**NODE)
        assert proxy.accepted == 2
    proxy.stop()


def test_a_restarted_server_is_found_again(live, tmp_path):
    port = urlsplit(live.url).port
    with PromptConfig(live.url, api_key=live.key, timeout=0.5, retries=0, breaker_failures=100) as pc:
        stop(live.served.process)
        with pytest.raises(ServiceUnavailable):
            pc.get_prompt(**NODE)
        with gunicorn_process(live.env, workers=1, log_path=tmp_path / "again.log", port=port):
            assert pc.get_prompt(**NODE).source == "network"


def test_the_live_servers_error_codes_map_to_their_exceptions(live, workspace):
    """Every code the service can be made to answer here; the 5xx codes are covered by test_faults."""
    from promptconfig.workspaces.services import api_key_create
    from templates_app.services import template_create, template_set_lifecycle

    draft = template_create(workspace=workspace, actor="t", key="draft", name="D", template="x", status="draft")
    archived = template_create(workspace=workspace, actor="t", key="old", name="O", template="x")
    for status in ("deprecated", "archived"):
        template_set_lifecycle(template=archived, status=status, actor="t")
    assert draft.status == "draft"
    template_create(
        workspace=workspace,
        actor="t",
        key="typed",
        name="T",
        template="{{ n }}",
        variable_schema={"type": "object", "properties": {"n": {"type": "integer"}}},
    )
    template_create(workspace=workspace, actor="t", key="huge", name="H", template="{{ topic * 100000 }}")
    _, write_key = api_key_create(workspace=workspace, name="writer", scope="write")
    new_template = {"key": "dup", "name": "Dup", "template": "x"}
    with PromptConfig(live.url, api_key=live.key, retries=0) as pc, PromptConfig(live.url, api_key=write_key) as pw:
        cases = [
            (lambda: PromptConfig(live.url, api_key="pc_wrong").get_prompt(**NODE), pcc.AuthenticationFailed, 401),
            (lambda: pc._post("/api/v1/cache/invalidate", {"pattern": "*"}), pcc.PermissionDenied, 403),
            (lambda: pc.get_prompt(template_id="nope"), pcc.NotFound, 404),
            (lambda: pc.generate("u42", template_id="lesson", version=0), pcc.ValidationError, 400),
            (lambda: [pw._post("/api/v1/templates", new_template) for _ in range(2)], pcc.Conflict, 409),
            (lambda: pc.get_prompt(template_id="draft"), pcc.TemplateNotPublished, 409),
            (lambda: pc.get_prompt(template_id="old"), pcc.Gone, 410),
            (
                lambda: pc.generate("u42", template_id="lesson", context={"topic": "x" * 1_100_000}),
                pcc.PayloadTooLarge,
                413,
            ),
            (lambda: pc.generate("u42", template_id="lesson"), pcc.MissingVariables, 422),
            (lambda: pc.generate("u42", template_id="typed", context={"n": "one"}), pcc.InvalidVariables, 422),
            (lambda: pc.generate("u42", template_id="huge", context={"topic": "abcdef"}), pcc.TemplateError, 422),
        ]
        for call, error, status in cases:
            with pytest.raises(error) as raised:
                call()
            assert raised.value.status == status and raised.value.code == error.code, error
        with pytest.raises(pcc.MissingVariables) as missing:
            pc.generate("u42", template_id="lesson")
        assert missing.value.missing == ["topic"]
        # 429: batches are expensive calls, 60 a minute per key by default; the 61st is refused.
        with pytest.raises(pcc.RateLimited) as limited:
            for _ in range(61):
                pc.prefetch([{"user_id": "u42", "template_id": "lesson"}])
        assert limited.value.status == 429 and limited.value.code == "rate_limited"


def test_a_deprecated_template_is_said_so_to_a_local_renderer(live, workspace):
    from templates_app.services import template_create, template_set_lifecycle

    old = template_create(workspace=workspace, actor="t", key="old", name="O", template="Old {{ topic }}")
    with PromptConfig(live.url, api_key=live.key) as pc:
        assert pc.get_prompt(template_id="old").deprecated is False
        template_set_lifecycle(template=old, status="deprecated", actor="t")
        with PromptConfig(live.url, api_key=live.key) as fresh:
            prompt = fresh.get_prompt(template_id="old")
            assert prompt.deprecated is True and prompt.render(topic="x") == "Old x"
            assert fresh.generate("u42", template_id="old", context={"topic": "x"}).deprecated is True
