"""Where one warm request spends its time, in process: cProfile over many requests through Django's full WSGI
stack (every middleware, DRF, the cache and the database as configured), grouped by component.

Run from the repo root, against PostgreSQL and Redis as the service uses them:
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pc_profile REDIS_URL=redis://127.0.0.1:6379/12 \\
    SECRET_KEY=... .venv/bin/python -m tests.perf.profile_request [--scenario generate] [--requests 2000]

It migrates that database, creates its own workspace, key, template and profile, warms the path up, then
profiles --requests calls of the scenario and prints each component's share of the time (inclusive: a
component's calls into another count in both) and the top functions.
"""

import argparse
import cProfile
import io
import os
import pstats
import time
import uuid

HOOKS = ("process_request", "process_response", "process_view")
# A component's time is the sum of the inclusive times of its entry functions (which never call each other).
COMPONENTS = {
    "prometheus middleware": [("django_prometheus/middleware.py", HOOKS)],
    "session, auth, messages, csrf": [
        ("django/contrib/sessions/middleware.py", HOOKS),
        ("django/contrib/auth/middleware.py", HOOKS),
        ("django/contrib/messages/middleware.py", HOOKS),
        ("django/middleware/csrf.py", HOOKS),
    ],
    "security, common, clickjacking": [
        ("django/middleware/security.py", HOOKS),
        ("django/middleware/common.py", HOOKS),
        ("django/middleware/clickjacking.py", HOOKS),
    ],
    "csp": [("csp/middleware.py", HOOKS)],
    "url resolving": [("django/urls/resolvers.py", ("resolve",))],
    "authentication (API key, epochs)": [("promptconfig/workspaces/authentication.py", ("authenticate",))],
    "permissions": [("promptconfig/workspaces/permissions.py", ("has_permission",))],
    "throttling": [("promptconfig/workspaces/throttling.py", ("allow_request",))],
    "request validation": [("promptconfig/workspaces/viewsets.py", ("validated",))],
    "redis (send + read)": [("redis/connection.py", ("send_packed_command", "read_response"))],
    "database": [("django/db/backends/utils.py", ("execute",))],
    "rendering (engine)": [("promptconfig_client/engine/core.py", ("render",))],
    "JSON response": [("rest_framework/response.py", ("rendered_content",))],
    "logging": [("logging/__init__.py", ("handle",))],
    "metrics (prometheus_client)": [("prometheus_client/metrics.py", ("inc", "observe"))],
}
SCENARIOS = {
    "bare": ("get", "/api/v1/perf/bare", None),
    "profile": ("get", "/api/v1/profiles/prof_user", None),
    "generate": (
        "post",
        "/api/v1/prompts/generate",
        {"user_id": "prof_user", "template_id": "prof_lesson", "context": {"topic": "volcanoes"}},
    ),
    "prompt_data": ("post", "/api/v1/prompt-data", {"user_id": "prof_user", "template_id": "prof_lesson"}),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=list(SCENARIOS), default="generate")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.perf.settings")
    os.environ.setdefault("DEBUG", "0")
    os.environ.setdefault("RATE_LIMIT_RUNTIME", "1000000000/min")
    os.environ.setdefault("RATE_LIMIT_SLOW_PENALTY", "0")

    import django

    django.setup()
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {setup_data()}", SERVER_NAME="127.0.0.1")
    method, path, payload = SCENARIOS[args.scenario]

    def call():
        response = client.get(path) if method == "get" else client.post(path, payload, content_type="application/json")
        assert response.status_code == 200, response.content
        return response

    for _ in range(200):  # warm: caches, compiled templates, connections
        call()
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(args.requests):
        call()
    profiler.disable()
    per_request = (time.perf_counter() - started) / args.requests * 1000
    stats = pstats.Stats(profiler)
    print(f"{args.scenario}: {args.requests} requests, {per_request:.3f} ms each under the profiler\n")
    print(f"{'component':<36} {'ms/request':>11} {'share':>6}")
    for name, entries in COMPONENTS.items():
        seconds = sum(
            row[3]
            for (filename, _, function), row in stats.stats.items()
            if any(part in filename and function in functions for part, functions in entries)
        )
        print(
            f"{name:<36} {seconds / args.requests * 1000:>11.3f} {seconds / args.requests * 1000 / per_request:>6.0%}"
        )
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
    print("\ntop functions by own time:\n" + "\n".join(out.getvalue().splitlines()[6:]))
    return 0


def setup_data() -> str:
    """Migrate, then a workspace of its own with the template and profile of the scenarios; its read key."""
    from django.core.management import call_command

    from profiles.services import profile_create
    from promptconfig.workspaces.services import api_key_create, workspace_get_or_create
    from templates_app.services import template_create

    call_command("migrate", verbosity=0)
    workspace = workspace_get_or_create(slug=f"profile-{uuid.uuid4().hex[:8]}")
    _, key = api_key_create(workspace=workspace, name="profile", scope="read")
    body = (
        "Explain {{ topic }} for {{ difficulty }} level students with a {{ learning_style }} preference "
        "({{ content_type }})."
    )
    template_create(workspace=workspace, actor="profile", key="prof_lesson", name="L", template=body)
    profile_create(workspace=workspace, user_id="prof_user", learning_style="visual")
    return key


if __name__ == "__main__":
    raise SystemExit(main())
