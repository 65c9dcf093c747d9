from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_check_deploy_is_clean_with_production_settings():
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "RELAY_TESTING", "DATABASE_URL", "REDIS_URL"}
    }
    env.update(
        SECRET_KEY="a-long-random-production-secret-" + "x" * 40,
        ALLOWED_HOSTS="relay.example.com",
        PUBLIC_BASE_URL="https://relay.example.com",
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_settings_refuse_to_start_without_secret_key_in_production():
    env = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "RELAY_TESTING", "SECRET_KEY"}}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr



def test_sqlite_runs_in_wal_mode_with_busy_timeout(tmp_path, settings, django_db_blocker):
    """web and worker write to one SQLite file at once: WAL + busy timeout + IMMEDIATE."""
    from django.db.backends.sqlite3.base import DatabaseWrapper

    options = settings.SQLITE_OPTIONS
    wrapper = DatabaseWrapper(
        {
            **settings.DATABASES["default"],
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(tmp_path / "relay.sqlite3"),
            "OPTIONS": options,
        }
    )
    try:
        with django_db_blocker.unblock(), wrapper.cursor() as cursor:
            cursor.execute("PRAGMA journal_mode")
            assert cursor.fetchone()[0] == "wal"
            cursor.execute("PRAGMA busy_timeout")
            assert cursor.fetchone()[0] == 20000
        assert options["transaction_mode"] == "IMMEDIATE"
    finally:
        wrapper.close()


def _database_options(*argv: str) -> str:
    env = {**os.environ, "DEBUG": "1", "DATABASE_URL": "postgres://u@127.0.0.1:5432/x"}
    code = (
        f"import sys; sys.argv = {list(argv)!r}; import os;"
        "os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings';"
        "from django.conf import settings; d = settings.DATABASES['default'];"
        "print(sorted(d.get('OPTIONS', {})), d['CONN_MAX_AGE'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_settings_pool_only_in_the_web_server_never_in_forking_commands():
    """The django-q cluster forks after its parent touched the database: a pool there handed one
    socket to several processes and stalled every job on PostgreSQL."""
    assert _database_options("manage.py", "qcluster") == "[] 300"
    assert _database_options("/usr/bin/uvicorn", "config.asgi:application") == "['pool'] 0"
