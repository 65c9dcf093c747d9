from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import django
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


def test_settings_refuse_a_body_deadline_of_zero():
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.WEB_BODY_TIMEOUT"],
        cwd=ROOT,
        env={
            **os.environ,
            "DEBUG": "1",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "WEB_BODY_TIMEOUT": "0",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "WEB_BODY_TIMEOUT" in result.stderr


def _database_options(*argv: str, **extra_env: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"DB_POOL", "DB_STARTUP_OPTIONS"}}
    env.update(DEBUG="1", DATABASE_URL="postgres://u@127.0.0.1:5432/x", **extra_env)
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


POOLED = "['options', 'pool'] 0"
OWN_CONNECTION = "['options'] 300"
DJANGO_MAIN = str(Path(django.__file__).parent / "__main__.py")


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["manage.py", "qcluster"], OWN_CONNECTION),
        (["/srv/relay/.venv/bin/django-admin", "qcluster"], OWN_CONNECTION),
        ([DJANGO_MAIN, "qcluster"], OWN_CONNECTION),  # python -m django qcluster
        (["manage.py", "run_ingest"], OWN_CONNECTION),
        (["manage.py", "migrate"], OWN_CONNECTION),
        (["/usr/bin/uvicorn", "config.asgi:application"], POOLED),
        (["manage.py", "runserver"], POOLED),  # a server, threads per request
        (["/srv/relay/.venv/bin/django-admin", "runserver", "8000"], POOLED),
    ],
    ids=[
        "manage.py-qcluster",
        "django-admin-qcluster",
        "python-m-django-qcluster",
        "run_ingest",
        "migrate",
        "uvicorn",
        "runserver",
        "django-admin-runserver",
    ],
)
def test_settings_pool_only_in_the_web_server_never_in_forking_commands(argv, expected):
    """The django-q cluster forks after its parent touched the database: a pool there handed one
    socket to several processes and stalled every job on PostgreSQL. However the command is
    started, it keeps a plain connection of its own; servers (threads per request) pool."""
    assert _database_options(*argv) == expected


def test_settings_db_pool_switch_overrides_what_the_command_line_says():
    assert _database_options("manage.py", "qcluster", DB_POOL="on") == POOLED
    # A server without the pool opens a connection per request (persistent ones leak there).
    assert _database_options("/usr/bin/uvicorn", "app", DB_POOL="off") == "['options'] 0"
    assert _database_options("manage.py", "qcluster", DB_POOL="off") == OWN_CONNECTION


def test_settings_refuse_a_db_pool_switch_they_cannot_read():
    env = {**os.environ, "DEBUG": "1", "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run(
        [sys.executable, "-c", "from django.conf import settings; settings.DATABASES"],
        cwd=ROOT,
        env={**env, "DB_POOL": "sometimes"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "DB_POOL" in result.stderr


@pytest.mark.parametrize(
    "command",
    [
        [str(Path(sys.executable).parent / "django-admin"), "shell"],
        [sys.executable, "-m", "django", "shell"],
    ],
    ids=["django-admin", "python-m-django"],
)
def test_settings_pool_is_off_in_commands_started_without_manage_py(command):
    env = {k: v for k, v in os.environ.items() if k not in {"DB_POOL", "DB_STARTUP_OPTIONS"}}
    env.update(
        DEBUG="1",
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL="postgres://u@127.0.0.1:5432/x",
        PYTHONPATH=str(ROOT),
    )
    probe = "from django.conf import settings; print(settings.DATABASES['default']['OPTIONS'])"
    result = subprocess.run(
        [*command, "-c", probe],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "'options'" in result.stdout and "'pool'" not in result.stdout


@pytest.mark.postgres
@pytest.mark.django_db
def test_settings_postgres_sessions_never_jit_compile():
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


DATABASE_PROBE = """
import json, sys
sys.argv = {argv!r}
import django
django.setup()
from django.conf import settings
from psycopg.conninfo import conninfo_to_dict
from helpdesk.core.db import conninfo
options = dict(settings.DATABASES["default"].get("OPTIONS", {{}}))
options["pool"] = "pool" in options
print(json.dumps({{"options": options, "conninfo": conninfo_to_dict(conninfo())}}))
"""

TLS_URL = (
    "postgres://relay:secret@db.example.com:6432/relay"
    "?sslmode=verify-full&sslrootcert=/etc/relay/db-ca.pem&sslcert=/etc/relay/client.crt"
    "&sslkey=/etc/relay/client.key&connect_timeout=5&target_session_attrs=read-write"
    "&options=-c%20statement_timeout%3D5000"
)


def _database_probe(url: str, *argv: str, **extra_env: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in {"DB_STARTUP_OPTIONS", "DB_POOL"}}
    env.update(DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL=url, **extra_env)
    result = subprocess.run(
        [sys.executable, "-c", DATABASE_PROBE.format(argv=list(argv))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.mark.parametrize(
    ("argv", "pooled"),
    [(["/usr/bin/uvicorn", "config.asgi:application"], True), (["manage.py", "qcluster"], False)],
    ids=["web", "worker"],
)
def test_settings_keep_tls_parameters_from_database_url(argv, pooled):
    """sslmode and friends in DATABASE_URL reach Django's connections, pooled or not, and the
    session options from the URL are kept next to ours (ours first: the URL's win)."""
    options = _database_probe(TLS_URL, *argv)["options"]
    assert options == {
        "sslmode": "verify-full",
        "sslrootcert": "/etc/relay/db-ca.pem",
        "sslcert": "/etc/relay/client.crt",
        "sslkey": "/etc/relay/client.key",
        "connect_timeout": 5,
        "target_session_attrs": "read-write",
        "options": "-c jit=off -c statement_timeout=5000",
        "pool": pooled,
    }


def test_conninfo_carries_tls_and_session_parameters_from_database_url():
    """The webhook accept pool and the LISTEN connection reach the database as Django does."""
    info = _database_probe(TLS_URL, "/usr/bin/uvicorn")["conninfo"]
    assert info == {
        "dbname": "relay",
        "user": "relay",
        "password": "secret",
        "host": "db.example.com",
        "port": "6432",
        "sslmode": "verify-full",
        "sslrootcert": "/etc/relay/db-ca.pem",
        "sslcert": "/etc/relay/client.crt",
        "sslkey": "/etc/relay/client.key",
        "connect_timeout": "5",
        "target_session_attrs": "read-write",
        "options": "-c jit=off -c statement_timeout=5000",
        "application_name": "relay",
    }


def test_settings_db_startup_options_off_sends_none_of_ours():
    """Behind PgBouncer, which refuses startup options it does not know (README)."""
    plain = "postgres://relay@db.example.com/relay?sslmode=require"
    probe = _database_probe(plain, "/usr/bin/uvicorn", DB_STARTUP_OPTIONS="off")
    assert "options" not in probe["options"] and "options" not in probe["conninfo"]
    assert probe["conninfo"]["sslmode"] == "require"
    kept = _database_probe(TLS_URL, "/usr/bin/uvicorn", DB_STARTUP_OPTIONS="off")
    assert kept["conninfo"]["options"] == "-c statement_timeout=5000"  # the URL's own


def test_settings_sqlite_url_options_are_kept_next_to_ours(tmp_path):
    url = f"sqlite:///{tmp_path / 'relay.sqlite3'}?timeout=5"
    options = _database_probe(url, "manage.py", "check")["options"]
    assert options["timeout"] == 5  # the URL's
    assert options["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in options["init_command"]


def _test_database_url(query: str) -> str:
    from django.db import connection

    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST']}:{db['PORT']}/{db['NAME']}?{query}"


SESSION_PROBE = """
import django, psycopg
django.setup()
from django.db import connection
from helpdesk.core.db import conninfo
SQL = "SELECT current_setting('jit'), current_setting('statement_timeout'), "
SQL += "current_setting('application_name')"
def django_session():
    with connection.cursor() as cursor:
        cursor.execute(SQL)
        return cursor.fetchone()
def direct_session():
    with psycopg.connect(conninfo()) as conn:
        return conn.execute(SQL).fetchone()
for session in (django_session, direct_session):
    try:
        print(session.__name__, *session())
    except Exception as exc:
        print(session.__name__, "refused:", str(exc).splitlines()[0])
"""


def _sessions(url: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DB_STARTUP_OPTIONS"}}
    # A plain connection: a pool would time out without saying why it could not connect.
    env.update(DEBUG="1", DJANGO_SETTINGS_MODULE="config.settings", DATABASE_URL=url, DB_POOL="off")
    result = subprocess.run(
        [sys.executable, "-c", SESSION_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()


@pytest.mark.postgres
@pytest.mark.django_db
def test_conninfo_and_django_sessions_get_the_url_parameters():
    url = _test_database_url("application_name=relay-probe&options=-c%20statement_timeout%3D4321")
    assert _sessions(url) == [
        "django_session off 4321ms relay-probe",
        "direct_session off 4321ms relay-probe",
    ]


@pytest.mark.postgres
@pytest.mark.django_db
def test_conninfo_and_django_sessions_refuse_to_connect_without_the_certificate_asked_for():
    """verify-full with a CA file that does not exist: libpq refuses before any query (with
    or without TLS on this server), on Django's connection and on the direct ones alike."""
    lines = _sessions(_test_database_url("sslmode=verify-full&sslrootcert=/nonexistent/ca.pem"))
    assert [line.split(" ", 2)[:2] for line in lines] == [
        ["django_session", "refused:"],
        ["direct_session", "refused:"],
    ]
    assert all("ssl" in line.lower() or "certificate" in line.lower() for line in lines), lines


def test_conninfo_extra_options_come_before_the_configured_ones(settings):
    from psycopg.conninfo import conninfo_to_dict

    from helpdesk.core.db import conninfo

    built = conninfo_to_dict(conninfo(extra_options="-c statement_timeout=5000"))
    options = built.get("options", "")
    assert options.startswith("-c statement_timeout=5000")
