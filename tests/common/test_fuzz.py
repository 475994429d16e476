"""Schemathesis against the real service: every operation of /api/schema/ is fuzzed, and every answer must
conform to the document (status codes, bodies, headers) and never be a 5xx. Part of the default run (CI's
`.ci/run`): any failure fails it, with schemathesis' report (each failure and a curl line to reproduce it) as the
assertion message.

Runs under gunicorn on the test database (PostgreSQL, Redis) with an admin key, a published template `lesson`
and a profile `u42`, so that the documented examples succeed. Deterministic and bounded: a fixed seed, a fixed
number of examples per operation (no `--max-time`, which would repeat the fuzzing until the time is spent), a
fresh example database, and a hard timeout on the whole run. It takes about two minutes on two cores. `st` runs
through run_schemathesis.py, which works around a CPython 3.11.7 bug that other seeds hit inside hypothesis.

What the schema cannot state is decided in the server or documented (tests/common/schemathesis.toml says how):
- query parameters: unknown, repeated or outside their enum are 400 (checked against the document itself);
  `version` with `label` on GET /templates/{key} must agree (else 409);
- `attributes` and `metrics` key rules are `propertyNames` (OpenAPI 3.1); tag patterns spell out the space
  characters Python trims (`\\s` differs between regex dialects), and tags with surrounding space are 400;
- rules about stored data answer their documented status: 404 for a template or version named in a body that
  does not exist, 409 for a state that makes a well-formed request impossible (same template on both sides of
  an A/B test, a template relating to itself, ensure-version without a model to probe), 422 `missing_variables`
  for generate (the only per-operation expectation in the config);
- GET /analytics/usage answers an empty series for `from` not before `to` and the newest 1000 buckets for a
  longer range, saying where the series starts.
Operations added later must keep this run green: state their rules in the schema, or answer documented statuses.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from profiles.services import profile_create
from promptconfig.workspaces.services import api_key_create
from templates_app.services import template_create
from tests.support.fake_llm import FakeLLM
from tests.support.servers import database_url_for_tests, gunicorn_process

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

# Fixed, so that CI runs the same cases every time; FUZZ_SEED tries others locally.
SEED = os.environ.get("FUZZ_SEED", "20261127")
# Examples per operation and phase; FUZZ_MAX_EXAMPLES raises it for a longer local run.
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "12")
# The whole schemathesis run is killed (and the test fails) past this; it normally takes well under half of it.
TIMEOUT_SECONDS = int(os.environ.get("FUZZ_TIMEOUT", "420"))

LESSON = "Teach {{ topic }} to a {{ learning_style }} learner at {{ difficulty }} level."

EXCLUDED = [
    # Revoking API keys: the fuzzer would revoke the key it runs with (ids are small integers) and every
    # later call would be an (expected, documented) 401, testing nothing.
    "v1_api_keys_destroy",
]


@pytest.fixture
def llm():
    fake = FakeLLM()
    fake.answer_json(LESSON)  # every refinement gets a proposal that passes the checks
    yield fake
    fake.close()


def test_the_service_conforms_to_its_openapi_document(transactional_db, workspace, tmp_path, llm):
    template_create(
        workspace=workspace, actor="t", key="lesson", name="Lesson", template=LESSON, node_name="generating_content"
    )
    template_create(workspace=workspace, actor="t", key="lesson-short", name="Short", template="{{ topic }}")
    profile_create(workspace=workspace, user_id="u42", learning_style="visual", difficulty_level="advanced")
    _, key = api_key_create(workspace=workspace, name="fuzz", scope="admin")
    # An A/B test and a stored prompt for the operations that address them (tests/common/schemathesis.toml).
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    created = {
        "FUZZ_AB_TEST_ID": client.post(
            "/api/v1/ab-tests", {"name": "Fuzz", "template_a": "lesson", "template_b": "lesson-short"}, format="json"
        ).json()["test_id"],
        "FUZZ_PROMPT_ID": client.post(
            "/api/v1/prompts/generate",
            {"user_id": "u42", "template_id": "lesson", "context": {"topic": "volcanoes"}},
            format="json",
        ).json()["prompt_id"],
    }
    env = {
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": settings.REDIS_URL,
        "CACHE_KEY_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", ""),
        # Each class of call gets room for the whole run, so that answers are not all 429.
        "RATE_LIMIT_RUNTIME": "1000000/minute",
        "RATE_LIMIT_WRITE": "1000000/minute",
        "RATE_LIMIT_EXPENSIVE": "1000000/minute",
        # Refinements talk to a local fake chat-completions server (without one they are a documented 503).
        "LLM_BASE_URL": llm.url,
        "LLM_API_KEY": "fuzz",
        "LLM_TIMEOUT": "2",
    }
    with gunicorn_process(env, workers=2, log_path=tmp_path / "gunicorn.log") as served:
        command = [
            sys.executable,
            str(Path(__file__).with_name("run_schemathesis.py")),  # `st`, with a workaround said there
            "--config-file",
            str(Path(__file__).with_name("schemathesis.toml")),
            "run",
            f"{served.url}/api/schema/?format=json",
            "--url",
            served.url,
            "--header",
            f"Authorization: Bearer {key}",
            "--checks",
            "all",
            "--seed",
            SEED,
            "--max-examples",
            MAX_EXAMPLES,
            "--generation-database",
            "none",
            "--workers",
            "2",
            "--request-timeout",
            "20",
            "--no-color",
            "--generation-allow-x00",
            "false",  # a NUL anywhere in a URL or body is refused (400), as docs/API.md says
            "--suppress-health-check",
            "all",
        ]
        for operation_id in EXCLUDED:
            command += ["--exclude-operation-id", operation_id]
        if os.environ.get("FUZZ_INCLUDE_PATH_REGEX"):  # narrow a run while working on some endpoints
            command += ["--include-path-regex", os.environ["FUZZ_INCLUDE_PATH_REGEX"]]
        if os.environ.get("FUZZ_INCLUDE"):  # a regular expression of operation ids: fuzz only those
            command += ["--include-operation-id-regex", os.environ["FUZZ_INCLUDE"]]
        try:
            run = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
                cwd=tmp_path,
                env={**os.environ, **created},
            )
        except subprocess.TimeoutExpired as expired:
            pytest.fail(f"schemathesis ran over {TIMEOUT_SECONDS} s:\n{_text(expired.stdout)[-20000:]}")
    output = run.stdout + run.stderr
    (tmp_path / "schemathesis.txt").write_text(output)
    assert run.returncode == 0, _failures(output)


def _text(value: bytes | str | None) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else value or ""


def _failures(output: str) -> str:
    """Schemathesis' FAILURES and SUMMARY sections (each failure with a curl line to reproduce it)."""
    start = output.find("FAILURES")
    return output[start - 40 if start > 0 else 0 :][-30000:]
