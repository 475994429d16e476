"""Instructions per request, counted by valgrind (callgrind): a measure that the machine's load does not move.

Run from the repo root (needs `valgrind`, and PostgreSQL and Redis as the service uses them):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/pc_profile REDIS_URL=redis://127.0.0.1:6379/12 \\
    SECRET_KEY=... .venv/bin/python -m tests.perf.instructions [--scenario bare] [--requests 100 600]

It runs the scenario's warm requests in a loop straight through the WSGI application (no HTTP server, no test
client): once with the first --requests count and once with the second, each under callgrind, and prints the
difference of the two totals divided by the difference of the counts. Start-up and warm-up cancel out. The
scenarios are those of tests/perf/profile_request.py, plus the bare anchor's `anchor_hello` and `anchor_render`.
Figures move by about ±0.03 M from run to run (hash randomisation, garbage-collector timing).
"""

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.perf.profile_request import SCENARIOS, setup_data

ANCHOR_DIR = Path(__file__).parent / "anchor"
ANCHOR = {
    "anchor_hello": ("get", "/hello", None),
    "anchor_render": ("post", "/render", json.loads((ANCHOR_DIR / "render_body.json").read_text())),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=[*SCENARIOS, *ANCHOR], default="bare")
    parser.add_argument("--requests", type=int, nargs=2, default=[100, 600], metavar=("FEW", "MANY"))
    parser.add_argument("--loop", type=int, help=argparse.SUPPRESS)  # the measured child: run this many
    args = parser.parse_args()
    if args.loop is not None:
        loop(args.scenario, args.loop)
        return 0
    few, many = args.requests
    totals = [instructions(args.scenario, count) for count in (few, many)]
    print(f"{args.scenario}: {(totals[1] - totals[0]) / (many - few) / 1e6:.3f} M instructions per request")
    return 0


def instructions(scenario: str, count: int) -> int:
    """The callgrind total of one child process that runs `count` measured requests."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp, "callgrind.out")
        command = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-m"]
        command += ["tests.perf.instructions", "--scenario", scenario, "--loop", str(count)]
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        summary = next(line for line in out.read_text().splitlines() if line.startswith(("summary:", "totals:")))
        return int(summary.split()[1])


def loop(scenario: str, count: int) -> None:
    if scenario in ANCHOR:
        sys.path.insert(0, str(ANCHOR_DIR))
        os.environ["DJANGO_SETTINGS_MODULE"] = "anchor.settings"
        from anchor.wsgi import application

        method, path, payload = ANCHOR[scenario]
        key = None
    else:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.perf.settings")
        os.environ.setdefault("DEBUG", "0")
        os.environ.setdefault("RATE_LIMIT_RUNTIME", "1000000000/min")
        os.environ.setdefault("RATE_LIMIT_SLOW_PENALTY", "0")
        from promptconfig.wsgi import application

        key = setup_data()
        method, path, payload = SCENARIOS[scenario]
    body = json.dumps(payload).encode() if payload is not None else b""
    environ = {
        "REQUEST_METHOD": method.upper(),
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json" if body else "",
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **({"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}),
    }
    statuses = []

    def call() -> None:
        answer = application({**environ, "wsgi.input": io.BytesIO(body)}, lambda status, *_: statuses.append(status))
        b"".join(answer)
        answer.close()

    for _ in range(300):  # warm: caches, compiled templates, connections
        call()
    if not statuses[-1].startswith("200"):
        sys.exit(f"{scenario}: {method.upper()} {path} answered {statuses[-1]}")
    for _ in range(count):
        call()


if __name__ == "__main__":
    raise SystemExit(main())
