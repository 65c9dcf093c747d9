from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

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


WORKER_LOGGING_PROBE = """
import logging, django
django.setup()
from django_q.conf import logger  # django-q2 configures its logger on this import
print(logging.getLevelName(logger.getEffectiveLevel()))
logger.info("Processed 'probe' (per-task line)")
logger.error("Failed 'probe' (failure line)")
"""


def _worker_logging(**extra_env: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"Q_LOG_LEVEL", "LOG_LEVEL"}}
    env.update(DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings", **extra_env)
    return subprocess.run(
        [sys.executable, "-c", WORKER_LOGGING_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_settings_worker_logs_failures_but_no_line_per_task_by_default():
    result = _worker_logging()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "WARNING"
    assert "per-task line" not in result.stderr
    assert "ERROR django-q Failed 'probe' (failure line)" in result.stderr


def test_settings_q_log_level_info_brings_the_per_task_lines_back():
    result = _worker_logging(Q_LOG_LEVEL="info")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "INFO"
    assert "per-task line" in result.stderr


def _setting(name: str, **extra_env: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"STATIC_ROOT", "MEDIA_ROOT"}}
    env.update(DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings", **extra_env)
    result = subprocess.run(
        [sys.executable, "-c", f"from django.conf import settings; print(settings.{name})"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_settings_static_root_comes_from_the_environment(tmp_path):
    assert _setting("STATIC_ROOT") == str(ROOT / "staticfiles")
    assert _setting("STATIC_ROOT", STATIC_ROOT=str(tmp_path / "static")) == str(tmp_path / "static")


def test_settings_job_timeout_and_twilio_stale_age_come_from_the_environment():
    assert _setting("TWILIO_STALE_AFTER_SECONDS") == "90.0"  # Q_TIMEOUT 60 + 30
    short = {"Q_TIMEOUT": "10", "Q_RETRY": "15"}
    cluster = _setting("Q_CLUSTER", **short)
    assert "'timeout': 10" in cluster and "'retry': 15" in cluster
    assert _setting("TWILIO_STALE_AFTER_SECONDS", **short) == "40.0"
    chosen = _setting("TWILIO_STALE_AFTER_SECONDS", **short, TWILIO_STALE_AFTER_SECONDS="15")
    assert chosen == "15.0"


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"Q_TIMEOUT": "60", "Q_RETRY": "60"}, "Q_RETRY"),
        ({"Q_TIMEOUT": "10", "Q_RETRY": "15", "TWILIO_STALE_AFTER_SECONDS": "12"}, "STALE"),
    ],
    ids=["retry-not-above-timeout", "stale-age-inside-the-timeout"],
)
def test_settings_refuse_timeouts_that_could_send_twice(env, named):
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.Q_CLUSTER"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and named in result.stderr


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
    assert _database_options("manage.py", "qcluster") == "['options'] 300"
    assert _database_options("/usr/bin/uvicorn", "config.asgi:application") == (
        "['options', 'pool'] 0"
    )


@pytest.mark.postgres
@pytest.mark.django_db
def test_settings_postgres_sessions_never_jit_compile():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)
