"""The client's failure handling against servers that misbehave on 127.0.0.1: retries as told by Retry-After,
never for 4xx, a hung server cut at the timeout, and every API error code mapped to its exception (the codes the
live service can be made to answer are checked against it)."""

import asyncio
import logging
import time

import pytest

import promptconfig_client as pcc
from promptconfig_client import PromptConfig
from tests.support.fake_api import ScriptedApi, SilentServer, error_body

PROMPT = {
    "template": "Explain {{ topic }}.",
    "template_id": "lesson",
    "template_version": 1,
    "language": "en",
    "variable_schema": None,
    "model_config": None,
    "user_placeholders": {},
    "required_dynamic_placeholders": ["topic"],
    "optional_dynamic_placeholders": [],
    "includes": {},
    "cache_ttl": 300,
    "ab_test": None,
}
OK = (200, {"ETag": '"v1"'}, PROMPT)


@pytest.fixture
def scripted():
    servers = []

    def start(*answers):
        server = ScriptedApi(list(answers))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.close()


def test_a_503_with_retry_after_is_retried_as_told(scripted):
    api = scripted((503, {"Retry-After": "1"}, error_body("service_unavailable")), OK)
    with PromptConfig(api.url, api_key="k", timeout=2, retries=2) as pc:
        assert pc.get_prompt(template_id="lesson").render(topic="x") == "Explain x."
        assert pc.stats()["retries"] == 1
    first, second = api.seen
    assert 1.0 <= second.at - first.at < 1.8
    assert first.headers["Authorization"] == "Bearer k" and first.body == {"user_id": "", "template_id": "lesson"}


def test_429_and_gateway_errors_are_retried_with_backoff(scripted):
    api = scripted((429, {}, error_body("rate_limited")), (502, {}, None), (504, {}, error_body("gateway_timeout")), OK)
    with PromptConfig(api.url, api_key="k", timeout=2, retries=3) as pc:
        assert pc.get_prompt(template_id="lesson").source == "network"
        assert pc.stats()["retries"] == 3 and len(api.seen) == 4


def test_a_retry_after_beyond_the_deadline_gives_up_at_once(scripted):
    api = scripted((429, {"Retry-After": "60"}, error_body("rate_limited")), OK)
    started = time.monotonic()
    with PromptConfig(api.url, api_key="k", timeout=1, retries=3) as pc, pytest.raises(pcc.RateLimited):
        pc.get_prompt(template_id="lesson")
    assert time.monotonic() - started < 1 and len(api.seen) == 1


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (400, "validation_error", pcc.ValidationError),
        (401, "authentication_failed", pcc.AuthenticationFailed),
        (403, "permission_denied", pcc.PermissionDenied),
        (404, "not_found", pcc.NotFound),
        (409, "template_not_published", pcc.TemplateNotPublished),
        (410, "gone", pcc.Gone),
        (413, "payload_too_large", pcc.PayloadTooLarge),
        (422, "missing_variables", pcc.MissingVariables),
        (422, "invalid_variables", pcc.InvalidVariables),
        (422, "template_error", pcc.TemplateError),
        (500, "server_error", pcc.ServerError),
    ],
)
def test_other_errors_are_never_retried(scripted, status, code, error):
    api = scripted((status, {}, error_body(code, "no")), OK)
    with PromptConfig(api.url, api_key="k", retries=3) as pc, pytest.raises(error) as raised:
        pc.get_prompt(template_id="lesson")
    assert len(api.seen) == 1 and raised.value.status == status and raised.value.code == code
    assert raised.value.message == "no"


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (429, "rate_limited", pcc.RateLimited),
        (502, "bad_gateway", pcc.BadGateway),
        (503, "service_unavailable", pcc.ServiceUnavailable),
        (504, "gateway_timeout", pcc.GatewayTimeout),
        (502, "", pcc.ServiceUnavailable),  # a proxy's own page, not the API's shape
    ],
)
def test_retryable_errors_map_to_their_classes_after_the_retries(scripted, status, code, error):
    api = scripted((status, {"Retry-After": "0"}, error_body(code) if code else None))
    with PromptConfig(api.url, api_key="k", retries=2) as pc, pytest.raises(error) as raised:
        pc.generate("u", template_id="lesson")
    assert len(api.seen) == 3 and raised.value.status == status


def test_a_hung_server_is_cut_at_the_timeout():
    silent = SilentServer()
    started = time.monotonic()
    with PromptConfig(silent.url, api_key="k", timeout=0.5, retries=1) as pc, pytest.raises(pcc.ServiceUnavailable):
        pc.get_prompt(template_id="lesson")
    assert time.monotonic() - started < 0.5 * 2 + 0.6  # the deadline: timeout * (retries + 1), plus one backoff
    assert pc.stats()["network_errors"] == 2
    silent.close()


def test_the_async_client_is_cut_at_the_timeout_too():
    silent = SilentServer()

    async def main():
        async with pcc.AsyncPromptConfig(silent.url, api_key="k", timeout=0.3, retries=0) as pc:
            with pytest.raises(pcc.ServiceUnavailable):
                await pc.get_prompt(template_id="lesson")
            return (await pc.get_prompt(template_id="lesson", fallback="F {{ a }}")).render(a=1)

    started = time.monotonic()
    assert asyncio.run(main()) == "F 1"
    assert time.monotonic() - started < 1.5
    silent.close()


def test_every_attempt_is_logged_at_debug(scripted, caplog):
    api = scripted(OK)
    with caplog.at_level(logging.DEBUG, logger="promptconfig_client"), PromptConfig(api.url, api_key="k") as pc:
        pc.get_prompt(template_id="lesson")
    assert any("POST /api/v1/prompt-data -> 200 in" in record.getMessage() for record in caplog.records)


def test_a_batch_item_error_is_returned_in_place(scripted):
    generated = {
        "prompt_id": "p1",
        "generated_prompt": "t",
        "template_used": "lesson",
        "template_version": 1,
        "language": "en",
        "variables_applied": {},
        "ab_test": None,
        "cache_key": "c",
        "cache_hit": False,
        "expires_at": "2030-01-01T00:00:00Z",
    }
    api = scripted((200, {}, {"results": [generated, error_body("not_found", "gone")], "total_generated": 1}))
    with PromptConfig(api.url, api_key="k") as pc:
        first, second = pc.generate_batch([{"template_id": "lesson"}, {"template_id": "nope"}])
    assert first.text == "t" and isinstance(second, pcc.NotFound) and second.message == "gone"
    assert api.seen[0].body == {
        "requests": [{"user_id": "", "template_id": "lesson"}, {"user_id": "", "template_id": "nope"}]
    }


def test_options_are_checked_before_any_request(monkeypatch):
    monkeypatch.delenv("PROMPTCONFIG_URL", raising=False)
    monkeypatch.delenv("PROMPTCONFIG_API_KEY", raising=False)
    with pytest.raises(ValueError, match="base_url"):
        PromptConfig(api_key="k")
    monkeypatch.setenv("PROMPTCONFIG_URL", "http://127.0.0.1:9/")
    monkeypatch.setenv("PROMPTCONFIG_API_KEY", "pc_env")
    with PromptConfig() as pc:
        with pytest.raises(ValueError, match="exactly one"):
            pc.get_prompt(user_id="u")
        with pytest.raises(ValueError, match="not both"):
            pc.get_prompt(template_id="a", version=1, label="b")
        assert pc.stats()["requests"] == 0
