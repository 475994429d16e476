"""The client's shared core without a network: the breaker's states, Retry-After, the snapshot file, and the
package itself (its dependencies, no Django, a light import)."""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from promptconfig_client._core import Breaker, Core, Options, Reply, retry_after

ROOT = Path(__file__).resolve().parents[2]


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_breaker_opens_after_consecutive_failures_and_lets_one_trial_through():
    clock = Clock()
    breaker = Breaker(failures=3, reset=10, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failed()
    breaker.succeeded()  # a success in between resets the count
    for _ in range(3):
        assert breaker.allow()
        breaker.failed()
    assert breaker.state == "open" and not breaker.allow()
    clock.now += 10
    assert breaker.state == "half_open"
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.failed()
    assert breaker.state == "open" and not breaker.allow()
    clock.now += 10
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state == "closed" and breaker.allow() and breaker.allow()


@pytest.mark.parametrize(
    ("value", "seconds"),
    [("3", 3.0), ("0.5", 0.5), ("-2", 0.0), ("soon", None), (None, None), ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)],
)
def test_retry_after_is_read_as_seconds_or_a_date(value, seconds):
    assert retry_after({"retry-after": value} if value is not None else {}) == seconds


def options(path, **extra) -> Options:
    return Options.build("http://127.0.0.1:9", "pc_key", snapshot_path=str(path), **extra)


def test_a_snapshot_is_written_atomically_and_read_back(tmp_path):
    path = tmp_path / "snap.json"
    core = Core(options(path))
    target = core.target(user_id="u", template_id="lesson")
    body = {"template_id": "lesson", "template": "x", "cache_ttl": 60, "etag": '"e"'}
    core.prefetched([target], Reply(200, {}, {"results": [body]}))
    core.close()
    document = json.loads(path.read_text())
    assert document["format"] == 1 and len(document["entries"]) == 1
    assert [p.name for p in tmp_path.iterdir()] == ["snap.json"]  # no temp file left behind
    loaded = Core(options(path))
    entry = loaded.entries[loaded.key(target)]
    assert entry.origin == "snapshot" and entry.etag == '"e"' and entry.body["template"] == "x"
    assert loaded.serve(entry, "fresh").source == "snapshot"


@pytest.mark.parametrize("content", ["{not json", '{"format": 99}', '{"format": 1, "namespace": "x", "entries": []}'])
def test_an_unusable_snapshot_is_ignored(tmp_path, content, caplog):
    path = tmp_path / "snap.json"
    path.write_text(content)
    assert Core(options(path)).entries == {}
    assert "snapshot" in caplog.text


def test_the_client_package_pins_ranges_the_servers_pins_sit_inside():
    server_pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        if re.match(r"^[A-Za-z0-9_.\[\]-]+==", line):
            requirement = Requirement(line)
            server_pins[requirement.name.lower()] = next(iter(requirement.specifier)).version
    project = tomllib.loads((ROOT / "client" / "pyproject.toml").read_text())["project"]
    for line in project["dependencies"]:
        requirement = Requirement(line)
        assert requirement.specifier, f"{requirement.name} has no range"
        assert server_pins[requirement.name.lower()] in requirement.specifier, requirement


def test_the_package_never_imports_django_and_imports_lightly():
    script = (
        "import sys, time\n"
        "started = time.perf_counter()\n"
        "import promptconfig_client\n"
        "took = time.perf_counter() - started\n"
        "from promptconfig_client import PromptConfig, AsyncPromptConfig, MissingVariables\n"
        "PromptConfig('http://127.0.0.1:9', api_key='k').close()\n"
        "assert not [name for name in sys.modules if name.split('.')[0] == 'django'], 'django imported'\n"
        "assert 'httpx' in sys.modules\n"
        "print(took)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert float(result.stdout) < 0.1
