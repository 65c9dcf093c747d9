"""The running system for stack tests: the Procfile's own processes on a scratch PostgreSQL
database, a Redis of their own (on its own port, so a test can stop it), and the fake Twilio
API. Tests drive it over HTTP and websockets and read results from the database.

    with Stack.start(fake_twilio_url) as stack:
        stack.manage("create_channel", "twilio-sms", ...)
        stack.kill("worker"); stack.run("worker")
        stack.redis_stop(); stack.redis_start()
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts" / "stack"
ADMIN_DSN = os.environ.get("RELAY_STACK_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def procfile() -> dict[str, str]:
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        name, sep, command = line.partition(":")
        if sep and name.strip() and not line.startswith("#"):
            entries[name.strip()] = command.strip()
    return entries


def wait_until(predicate: Any, *, timeout: float, interval: float = 0.2, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or predicate}")
        time.sleep(interval)


@dataclass
class Stack:
    database: str
    port: int
    redis_port: int
    env: dict[str, str]
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    redis: subprocess.Popen[bytes] | None = None

    # --- life cycle -----------------------------------------------------------------------
    @classmethod
    @contextlib.contextmanager
    def start(cls, twilio_api_url: str, **extra_env: str) -> Iterator[Stack]:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        database = f"relay_stack_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        port, redis_port, ws_port = free_port(), free_port(), free_port()
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("PYTEST", "DJANGO_SETTINGS")) and key != "RELAY_TESTING"
        }
        env.update(
            {
                "PATH": f"{ROOT / '.venv' / 'bin'}:{Path(sys.executable).parent}:{env['PATH']}",
                "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{database}",
                "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
                "SECRET_KEY": "stack-test-secret-" + uuid.uuid4().hex * 2,
                "DEBUG": "0",
                "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
                "SECURE_SSL_REDIRECT": "0",
                "SECURE_HSTS_SECONDS": "0",
                "HOST": "127.0.0.1",
                "PORT": str(port),
                "WS_PORT": str(ws_port),
                "STATIC_ROOT": str(ARTIFACTS / f"static_{database}"),
                "MEDIA_ROOT": str(ARTIFACTS / f"media_{database}"),
                "TWILIO_API_BASE_URL": twilio_api_url,
                "PYTHONUNBUFFERED": "1",
                "Q_LOG_LEVEL": "WARNING",
                **extra_env,
            }
        )
        stack = cls(database=database, port=port, redis_port=redis_port, env=env)
        with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{database}"')
        try:
            stack.redis_start()
            stack.run_once("release")
            for name in ("web", "worker", "ingest"):
                stack.run(name)
            stack.wait_ready()
            yield stack
        finally:
            stack.stop_all()
            with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')

    def _log(self, name: str) -> Any:
        return (ARTIFACTS / f"{self.database}_{name}.log").open("ab")

    def run_once(self, name: str) -> None:
        command = procfile()[name]
        with self._log(name) as log:
            subprocess.run(
                ["/bin/sh", "-c", command], cwd=ROOT, env=self.env, stdout=log, stderr=log,
                check=True, timeout=180,
            )

    def run(self, name: str) -> subprocess.Popen[bytes]:
        """Start the Procfile's `name` as its own process group (so its children die with it)."""
        with self._log(name) as log:
            process = subprocess.Popen(
                ["/bin/sh", "-c", "exec " + procfile()[name]],
                cwd=ROOT, env=self.env, stdout=log, stderr=log, start_new_session=True,
            )
        self.processes[name] = process
        return process

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        process.wait(timeout=30)

    def stop_all(self) -> None:
        """SIGTERM to each process (as a supervisor stops it: django-q's cluster shuts its
        children down itself; a SIGTERM to all of them at once leaves it hanging), then
        SIGKILL to whatever of its group is left."""
        for process in self.processes.values():
            with contextlib.suppress(ProcessLookupError):
                os.kill(process.pid, signal.SIGTERM)
        for name in list(self.processes):
            process = self.processes.pop(name)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=15)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        self.redis_stop()

    def redis_start(self) -> None:
        self.redis = subprocess.Popen(
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )
        wait_until(lambda: _port_open(self.redis_port), timeout=10, what="redis")

    def redis_stop(self) -> None:
        if self.redis is not None:
            self.redis.terminate()
            self.redis.wait(timeout=10)
            self.redis = None

    def wait_ready(self, timeout: float = 60) -> None:
        def ready() -> bool:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    return response.status == 200
            except OSError:
                return False

        wait_until(ready, timeout=timeout, what="web /healthz")

    # --- talking to it ---------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:5432/{self.database}"

    def manage(self, *args: str, stdin: str | None = None) -> str:
        """Run `manage.py` with the stack's environment (setup: channels, agents)."""
        result = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, input=stdin,
            capture_output=True, text=True, timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    def shell(self, code: str) -> str:
        return self.manage("shell", "--verbosity", "0", "-c", code)

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            return conn.execute(query, params).fetchall()

    def scalar(self, query: str, *params: Any) -> Any:
        return self.sql(query, *params)[0][0]

    def log(self, name: str) -> str:
        path = ARTIFACTS / f"{self.database}_{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def describe(self) -> str:
        return " ".join(shlex.quote(f"{k}={self.env[k]}") for k in ("DATABASE_URL", "REDIS_URL"))


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0
