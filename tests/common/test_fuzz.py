"""Schemathesis against the real service: every operation of /api/schema/ is fuzzed, and every answer must
conform to the document (status codes, bodies, headers) and never be a 5xx.

Runs under gunicorn on the test database (PostgreSQL, Redis) with an admin key, a published template `lesson`
and a profile `u42`, so that the documented examples succeed. Seeded and bounded (examples per operation, total
time) so that it takes about a minute.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from profiles.services import profile_create
from promptconfig.workspaces.services import api_key_create
from templates_app.services import template_create
from tests.support.servers import database_url_for_tests, gunicorn_process

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    # Not in the default run yet: schemathesis still reports failures that need decisions beyond the schema
    # (listed below). `FUZZ=1 pytest tests/common/test_fuzz.py` runs it.
    pytest.mark.skipif(os.environ.get("FUZZ") != "1", reason="set FUZZ=1 to fuzz the live service"),
]

# What the last run still reports (seed below, 20 examples per operation, 150 s): 20 failures and one
# schemathesis-internal error (a hypothesis "AST constructor recursion" error generating POST /templates/search).
# ST202 "schema-valid request rejected" (13): rules OpenAPI 3.0 cannot state, or that depend on stored data:
# - GET /templates/{key}: `version` and `label` together are 400 (query parameters cannot be exclusive);
#   GET /analytics/usage: more than 1000 buckets (or `from` not before `to`) is 400.
# - POST /profiles, PUT/PATCH /profiles/{user_id}: `attributes` keys must be identifiers; POST
#   /prompts/{id}/feedback: the same for `metrics` names (OpenAPI 3.0 has no propertyNames).
# - POST /prompts/generate, /generate-prompt: a variable nothing supplies is 422 missing_variables.
# - POST /ab-tests (an unknown pinned version is 400), POST /templates/{key}/ensure-version (`model_id` is
#   required unless the served version names the provider's model), POST /templates/{key}/relationships (a
#   template cannot relate to itself).
# - PUT /templates/{key} and stateful: a tag of whitespace only is trimmed to blank (400) though it matches
#   `^[^,\s][^,]{0,63}$` for characters JavaScript's \s does not count as space.
# - POST /webhooks, PATCH /webhooks/{id}: a URL whose host resolves to a loopback, private or other non-public
#   address is 400 (the SSRF guard: where a host name points is not something a schema can say; `http://0`,
#   `http://6` are 0.0.0.0/8).
# - GET /events (ST201): a query string over gunicorn's 4094-byte request line is its 414 (documented on every
#   operation), which schemathesis counts as "accepted".
# ST201 "schema-violating request accepted" (7): an empty enum filter (`?status=`, `?learning_style=`) or an
# unknown `ordering` means "no filter"/ignored; repeated `page`/`page_size`/`baseline` use the last value; a tag
# such as "x\x1c" that Python trims; one stateful "positive test case" on POST /templates.

LESSON = "Teach {{ topic }} to a {{ learning_style }} learner at {{ difficulty }} level."

EXCLUDED = [
    # Revoking API keys: the fuzzer would revoke the key it runs with (ids are small integers) and every
    # later call would be an (expected, documented) 401, testing nothing.
    "v1_api_keys_destroy",
]


def test_the_service_conforms_to_its_openapi_document(transactional_db, workspace, tmp_path):
    template_create(
        workspace=workspace, actor="t", key="lesson", name="Lesson", template=LESSON, node_name="generating_content"
    )
    template_create(workspace=workspace, actor="t", key="lesson-short", name="Short", template="{{ topic }}")
    profile_create(workspace=workspace, user_id="u42", learning_style="visual", difficulty_level="advanced")
    _, key = api_key_create(workspace=workspace, name="fuzz", scope="admin")
    env = {
        "DATABASE_URL": database_url_for_tests(),
        "REDIS_URL": settings.REDIS_URL,
        "CACHE_KEY_PREFIX": settings.CACHES["default"].get("KEY_PREFIX", ""),
        # Each class of call gets room for the whole run, so that answers are not all 429.
        "RATE_LIMIT_RUNTIME": "1000000/minute",
        "RATE_LIMIT_WRITE": "1000000/minute",
        "RATE_LIMIT_EXPENSIVE": "1000000/minute",
    }
    with gunicorn_process(env, workers=2, log_path=tmp_path / "gunicorn.log") as served:
        command = [
            str(Path(sys.executable).with_name("st")),
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
            "20261127",
            "--max-examples",
            os.environ.get("FUZZ_MAX_EXAMPLES", "20"),
            "--max-time",
            os.environ.get("FUZZ_MAX_TIME", "150"),
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
        run = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    output = run.stdout + run.stderr
    (tmp_path / "schemathesis.txt").write_text(output)
    assert run.returncode == 0, output[-20000:]
