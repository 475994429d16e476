"""Run docker/compose.yaml's app services as local processes: the proof that the deployment starts, without a
Docker daemon.

Each service (each replica) runs the image's ENTRYPOINT and the service's command, with the image's ENV and the
service's environment, except that:
- the compose hostnames point at this machine: `postgres` at a fresh local PostgreSQL database, `redis` at the
  test run's Redis databases (REDIS_URL, CELERY_BROKER_URL);
- paths of the image are folders of this machine: /app is the repository (the image's WORKDIR), and each
  container's /tmp is a temporary folder of its own;
- listening ports are free local ports (GUNICORN_BIND, WORKER_METRICS_PORT, the proxy's `listen`, its upstream);
- CACHE_KEY_PREFIX and CELERY_QUEUE are this stack's own, so that nothing else on the machine mixes with it.
"""

import contextlib
import json
import os
import re
import shlex
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import yaml

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
IMAGE_WORKDIR = "/app"
_VARIABLE = re.compile(r"\$\{(\w+)(?::([?-])([^}]*))?\}")


def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def interpolate(value, variables: dict[str, str]):
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} interpolation, over every string of a value."""
    if isinstance(value, dict):
        return {key: interpolate(item, variables) for key, item in value.items()}
    if isinstance(value, list):
        return [interpolate(item, variables) for item in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match) -> str:
        name, kind, argument = match.groups()
        found = variables.get(name, "")
        if kind == "?" and not found:
            raise ValueError(f"compose needs {name}: {argument}")
        return found or (argument if kind == "-" else "")

    return _VARIABLE.sub(replace, value)


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of docker/Dockerfile, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (DOCKER / "Dockerfile").read_text())
    instructions = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name, _, arguments = line.partition(" ")
            instructions.append((name.upper(), arguments.strip()))
    return instructions


def image_env() -> dict[str, str]:
    env = {}
    for name, arguments in dockerfile_instructions():
        if name == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(arguments))
    return env


def image_exec(name: str) -> list[str]:
    """The image's ENTRYPOINT or CMD (exec form)."""
    (arguments,) = [arguments for instruction, arguments in dockerfile_instructions() if instruction == name]
    return json.loads(arguments)


@dataclass
class Container:
    """One replica of one service, as a local process."""

    service: str
    argv: list[str]
    env: dict[str, str]
    tmp: Path  # what the container sees as /tmp
    log: Path
    process: subprocess.Popen | None = None
    ports: dict[str, int] = field(default_factory=dict)

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                self.argv, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def run(self, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)

    def exec(self, argv: list[str], timeout: float = 60) -> subprocess.CompletedProcess:
        """Like `docker compose exec`: another command in this container (its environment and paths)."""
        argv = [self.path(arg) for arg in argv]
        return subprocess.run(argv, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)

    def path(self, value: str) -> str:
        """An image path as this machine's (also in `--option=/path`)."""
        prefix, eq, rest = value.partition("=") if value.startswith("--") else ("", "", value)
        if rest == IMAGE_WORKDIR or rest.startswith(IMAGE_WORKDIR + "/"):
            rest = str(ROOT) + rest[len(IMAGE_WORKDIR) :]
        elif rest.startswith("/tmp/"):
            rest = str(self.tmp / rest.removeprefix("/tmp/"))
        return prefix + eq + rest

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, 9)  # this process's own group only (start_new_session)
            self.process.wait()


class Stack:
    """The compose file's app services on a fresh database of the local PostgreSQL."""

    def __init__(self, workdir: Path, *, database_url: str, redis_url: str, broker_url: str, variables: dict):
        self.workdir = workdir
        self.compose = interpolate(compose(), variables)
        self.services = self.compose["services"]
        self.name = f"stack_{uuid.uuid4().hex[:10]}"
        local = urlsplit(database_url)
        self.admin_url = local._replace(path="/postgres").geturl()
        self.database_url = local._replace(path=f"/promptconfig_{self.name}").geturl()
        self.redis_url, self.broker_url = redis_url, broker_url
        self.containers: list[Container] = []

    # --- the database -----------------------------------------------------------------------------
    def create_database(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{urlsplit(self.database_url).path[1:]}"')

    def drop_database(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{urlsplit(self.database_url).path[1:]}" WITH (FORCE)')

    # --- containers -------------------------------------------------------------------------------
    def local_url(self, name: str, value: str) -> str:
        """A URL naming a compose service, as the local service standing in for it."""
        host = urlsplit(value).hostname
        if host not in self.services:
            return value
        if host == "postgres":
            return self.database_url
        if host == "redis":
            return {"REDIS_URL": self.redis_url, "CELERY_BROKER_URL": self.broker_url}[name]
        raise AssertionError(f"{name} names compose service {host}, which the local stack does not run")

    def container(self, service: str, replica: int = 1, command: list[str] | None = None) -> Container:
        spec = self.services[service]
        tmp = self.workdir / f"{service}-{replica}" / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        entrypoint = spec.get("entrypoint") or image_exec("ENTRYPOINT")
        command = command or spec.get("command") or image_exec("CMD")
        command = shlex.split(command) if isinstance(command, str) else command
        container = Container(service, [], {}, tmp, self.workdir / f"{service}-{replica}.log")
        env = {**image_env(), **{key: str(value) for key, value in (spec.get("environment") or {}).items()}}
        ports = {}
        for key, value in env.items():
            if "://" in value:
                env[key] = self.local_url(key, value)
            elif value.startswith(("/tmp/", IMAGE_WORKDIR + "/")):
                env[key] = container.path(value)
        if "GUNICORN_BIND" in env:
            ports["http"] = free_port()
            env["GUNICORN_BIND"] = f"127.0.0.1:{ports['http']}"
        if env.get("WORKER_METRICS_PORT"):
            ports["metrics"] = free_port()
            env["WORKER_METRICS_PORT"] = str(ports["metrics"])
        env.update(
            PATH=f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            HOME=str(tmp),
            CACHE_KEY_PREFIX=self.name,
            CELERY_QUEUE=self.name,
        )
        container.argv = [container.path(arg) for arg in [*entrypoint, *command]]
        container.env, container.ports = env, ports
        return container

    def start(self, service: str, replica: int = 1) -> Container:
        container = self.container(service, replica)
        container.start()
        self.containers.append(container)
        return container

    def stop(self) -> None:
        running = [c for c in self.containers if c.process is not None and c.process.poll() is None]
        for container in running:  # all at once: each takes a moment to shut down
            container.process.terminate()
        for container in running:
            container.stop()


@contextlib.contextmanager
def nginx(stack: Stack, upstreams: list[int]):
    """The proxy service with docker/nginx.conf, its upstream the local web replicas; yields its port."""
    spec = stack.services["proxy"]
    (mount,) = [volume for volume in spec["volumes"] if volume.endswith(":/etc/nginx/nginx.conf:ro")]
    source = (DOCKER / mount.split(":")[0]).resolve()
    tmp = stack.workdir / "proxy-1" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)  # the container's /tmp: nginx must create what it needs in it
    port = free_port()
    config = source.read_text().replace("/tmp/", f"{tmp}/")
    # The image's user `nginx` does not exist here: as root, the workers run as root; otherwise as the caller.
    config = config.replace("user nginx;", "user root root;" if os.geteuid() == 0 else "")
    config, listens = re.subn(r"listen 80;", f"listen 127.0.0.1:{port};", config)
    server = re.search(r"server web:8000([^;]*);", config)
    assert listens == 1 and server, "the proxy listens on port 80 and its upstream is web:8000"
    config = config.replace(server.group(0), " ".join(f"server 127.0.0.1:{up}{server.group(1)};" for up in upstreams))
    path = stack.workdir / "nginx.conf"
    path.write_text(config)
    check = subprocess.run(["nginx", "-t", "-e", "stderr", "-c", str(path)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    log = stack.workdir / "proxy-1.log"
    with open(log, "ab") as output:
        process = subprocess.Popen(
            ["nginx", "-e", "stderr", "-c", str(path), "-g", "daemon off;"],
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        yield port
    finally:
        process.terminate()
        process.wait(timeout=20)
