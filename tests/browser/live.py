"""Real ASGI servers for end-to-end tests: uvicorn subprocesses on 127.0.0.1 with an ephemeral
port, serving the same (migrated, test) database as the test process, so a service called in
the test reaches the server's clients exactly as a worker's event would in production.

SQLite: pytest-django's default in-memory test database cannot be shared with another process,
so modules that start live servers call `use_file_sqlite()` at import (collection) time and
the test database becomes a file under artifacts/.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

ROOT = Path(settings.BASE_DIR)
ARTIFACTS = ROOT / "artifacts"


def use_file_sqlite() -> None:
    if connection.vendor != "sqlite":
        return
    ARTIFACTS.mkdir(exist_ok=True)
    test = connection.settings_dict.setdefault("TEST", {})
    if not test.get("NAME"):
        test["NAME"] = str(ARTIFACTS / f"test_live_{os.getpid()}.sqlite3")


def database_url() -> str:
    """DATABASE_URL of the database this test process uses (the test database)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}{port}/{db['NAME']}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(**extra: str) -> dict[str, str]:
    env = {
        **os.environ,
        "RELAY_TESTING": "1",
        "DEBUG": "1",
        "DATABASE_URL": database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


@contextmanager
def live_server(**env: str) -> Iterator[str]:
    """Start `uvicorn config.asgi:application`; yield its base URL; stop it afterwards."""
    port = _free_port()
    ARTIFACTS.mkdir(exist_ok=True)
    log = (ARTIFACTS / f"live_server_{port}.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "config.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=server_env(**env),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"live server exited; see {log.name}")
            try:
                urllib.request.urlopen(f"{url}/login/", timeout=1).read()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"live server did not start; see {log.name}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


def session_cookie(user: object) -> tuple[str, str]:
    """A signed-in session for `user` in the shared database: (cookie name, value)."""
    from django.test import Client

    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    name = settings.SESSION_COOKIE_NAME
    return name, client.cookies[name].value


def sign_in(page: Any, base_url: str, username: str, password: str = "pw-for-tests-1") -> None:
    """Sign in to the console as the factories' agent `username`."""
    page.goto(f"{base_url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
