"""The one settings module. Everything that differs between machines comes from the environment.

Switches (all optional):
  DEBUG             "1"/"true" for development. Default off.
  SECRET_KEY        required unless DEBUG.
  DATABASE_URL      default: SQLite file `db.sqlite3` in the project folder. libpq parameters in
                    its query string (sslmode, sslrootcert, ...) apply to every connection.
  DB_STARTUP_OPTIONS  "off": send no `-c jit=off` at connect (poolers that refuse it; README).
  REDIS_URL         when set: channels-redis pub/sub layer and the Redis cache.
  ALLOWED_HOSTS     comma separated. Default: localhost names only.
  PUBLIC_BASE_URL   how the outside world reaches us (webhook signatures are checked against it).
  TWILIO_API_BASE_URL  Twilio's API origin; tests point it at a local fake server.
  WIDGET_VERIFIED_TOKEN_MAX_AGE  seconds a widget token for a shop-verified customer lives
                    (default one week; anonymous visitor tokens live 400 days).
  Q_TIMEOUT / Q_RETRY  seconds a job may run before the worker kills it (default 60), and
                    before an unacknowledged job is handed out again (default 90; > Q_TIMEOUT).
  TWILIO_STALE_AFTER_SECONDS  age at which a Twilio send claim is certainly dead and is
                    reconciled with Twilio (default Q_TIMEOUT + 30; at least Q_TIMEOUT + 5).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")
# Under pytest (or a server a test started) development defaults apply.
TESTING = env_bool("RELAY_TESTING") or "pytest" in sys.modules

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not (DEBUG or TESTING):
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-never-use-in-production"  # noqa: S105

# The demo shop page and `load_demo` (whose logins have published passwords): on for
# development and tests, off in production unless RELAY_DEMO=1.
DEMO_ENABLED = env_bool("RELAY_DEMO", DEBUG or TESTING)

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", PUBLIC_BASE_URL)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "channels",
    "django_q",
    "helpdesk.core",
    "helpdesk.customers",
    "helpdesk.inboxes",
    "helpdesk.agents",
    "helpdesk.conversations",
    "helpdesk.sla",
    "helpdesk.notifications",
    "helpdesk.console",
    "helpdesk.demo",
    "helpdesk.imports",
    "channels_app",
]

MIDDLEWARE = [
    "helpdesk.core.middleware.ReleaseDatabaseConnectionMiddleware",
    "helpdesk.core.middleware.AccessLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "helpdesk.core.middleware.RequestBodyLimitMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "helpdesk.console.middleware.AgentLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
ASGI_APPLICATION = "config.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
def management_command(argv: list[str]) -> str:
    """The Django command this process runs, however it was started (`manage.py`,
    `django-admin`, `python -m django`), or "" for anything else (the ASGI server, pytest)."""
    if len(argv) < 2:
        return ""
    program = Path(argv[0])
    if program.name == "manage.py" or program.stem == "django-admin":
        return argv[1]
    if program.name == "__main__.py" and program.parent.name == "django":
        return argv[1]
    return ""


def env_switch(name: str) -> bool | None:
    """An on/off switch: None when unset; a value that is neither refuses to start."""
    value = os.environ.get(name, "").strip().lower()
    if not value:
        return None
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be on or off, not {value!r}.")


# A management command (worker, ingest loop, migrations) or a server (`web`, `runserver`).
MANAGEMENT_COMMAND = management_command(sys.argv)
_SERVES_REQUESTS = MANAGEMENT_COMMAND in ("", "runserver")
# Servers run each request in a thread of its own and share a pool of connections; commands
# are single-threaded and the django-q cluster forks, so they keep one plain connection each.
# DB_POOL=on/off overrides this for a process started some other way.
_db_pool_switch = env_switch("DB_POOL")
DB_POOL = _SERVES_REQUESTS if _db_pool_switch is None else _db_pool_switch
DB_POOL_MAX = int(os.environ.get("DB_POOL_MAX", "10"))
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
        conn_max_age=0,  # persistent connections leak under ASGI; PostgreSQL uses a pool instead
    )
}
# WAL + busy timeout + IMMEDIATE transactions let `web` and `worker` write concurrently.
SQLITE_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}
_db = DATABASES["default"]
# What DATABASE_URL's query string says (sslmode, sslrootcert, connect_timeout, options, ...)
# is kept: ours are added to it, never put in its place. helpdesk.core.db.conninfo() passes
# the libpq parameters among them to the connections Django does not make.
_db_options: dict[str, Any] = _db.setdefault("OPTIONS", {})
# No JIT compilation: PostgreSQL compiles any plan whose estimate passes jit_above_cost, and
# for the inbox's LIMIT queries (estimates far above what they read) that took 50 ms to 1 s
# before a query that runs in a few milliseconds (bench/RESULTS.md, "Search"). Sent as a
# startup option; DB_STARTUP_OPTIONS=off leaves it out for poolers that refuse startup options
# (PgBouncer: set it on the role instead, see the README).
POSTGRES_SESSION_OPTIONS = "-c jit=off"
DB_STARTUP_OPTIONS = env_bool("DB_STARTUP_OPTIONS", True)


def postgres_startup_options(ours: str, from_url: str | list[str] | None) -> str:
    """Ours first, then the URL's own `-c` settings: PostgreSQL applies them in order, so the
    URL's win where both set one."""
    theirs = [from_url] if isinstance(from_url, str) else list(from_url or [])
    return " ".join(part for part in [ours, *theirs] if part)


if _db["ENGINE"] == "django.db.backends.sqlite3":
    _db["OPTIONS"] = {**SQLITE_OPTIONS, **_db_options}
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db_options["options"] = postgres_startup_options(
        POSTGRES_SESSION_OPTIONS if DB_STARTUP_OPTIONS else "", _db_options.get("options")
    )
    if not _db_options["options"]:
        del _db_options["options"]
if _db["ENGINE"] == "django.db.backends.postgresql" and DB_POOL:
    # The ASGI web process runs each request in its own thread: a pool bounds and reuses their
    # connections. A short timeout turns a busy pool into a quick 503, never a 10 s wait.
    _db_options["pool"] = {
        "min_size": int(os.environ.get("DB_POOL_MIN", "1")),
        "max_size": DB_POOL_MAX,
        "timeout": float(os.environ.get("DB_POOL_TIMEOUT", "3")),
    }
    _db["CONN_HEALTH_CHECKS"] = False
elif _db["ENGINE"] == "django.db.backends.postgresql" and not _SERVES_REQUESTS:
    # Management commands (the django-q cluster, the ingest loop, migrate) are single-threaded
    # per process, and the cluster forks: a pool opened in its parent would hand the same
    # socket to every child. Each process keeps one plain connection of its own instead.
    _db["CONN_MAX_AGE"] = 300
    _db["CONN_HEALTH_CHECKS"] = True
# A server told DB_POOL=off opens a connection per request (CONN_MAX_AGE 0): persistent ones
# leak under ASGI, where no thread lives as long as its connection.
DATABASE_IS_POSTGRES = _db["ENGINE"] == "django.db.backends.postgresql"
# Django requests one web process runs at once (each in a thread, each may hold a database
# connection): the pool's size. The rest wait up to WEB_QUEUE_TIMEOUT seconds, then get 503.
WEB_MAX_CONCURRENT_REQUESTS = int(os.environ.get("WEB_MAX_CONCURRENT_REQUESTS", DB_POOL_MAX))
WEB_QUEUE_TIMEOUT = float(os.environ.get("WEB_QUEUE_TIMEOUT", "2"))
# Seconds a request's whole body may take to arrive (read before the request asks for a turn,
# so a slow sender holds no turn); then 408. An upload of REQUEST_BODY_MAX_BYTES needs about
# 1 MB/s to make it.
WEB_BODY_TIMEOUT = float(os.environ.get("WEB_BODY_TIMEOUT", "15"))
if WEB_BODY_TIMEOUT <= 0:
    raise ImproperlyConfigured("WEB_BODY_TIMEOUT must be a number of seconds above 0.")

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis, channel layer, cache -----------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
# Redis is optional at run time (README, "Processes"): every call to it gives up within half a
# second, so a Redis that is down or hangs never hangs a request; callers fall back.
REDIS_SOCKET_OPTIONS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


def redis_channel_layer(url: str) -> dict[str, Any]:
    # Pub/sub: ~0.3 ms per group_send to 100 members against 1.35 ms for the list layer.
    # It may drop events across a Redis reconnect; browsers catch up from the event log. The
    # subclass bounds every call in time and lets websockets open while Redis is down.
    return {
        "BACKEND": "helpdesk.core.channel_layer.OutageTolerantPubSubLayer",
        "CONFIG": {"hosts": [{"address": url, **REDIS_SOCKET_OPTIONS}]},
    }


def redis_cache(url: str) -> dict[str, Any]:
    return {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": url,
        "OPTIONS": dict(REDIS_SOCKET_OPTIONS),
    }


if REDIS_URL:
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL)}
    CACHES = {"default": redis_cache(REDIS_URL)}
else:
    # Embedded mode: each process has its own layer; the realtime relay forwards events that
    # other processes (the worker) recorded in the event log, so none are lost.
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Background jobs (django-q2) -----------------------------------------------------------
Q_LOG_LEVEL = os.environ.get("Q_LOG_LEVEL", "WARNING").upper()
# django-q2 raises in a job at Q_TIMEOUT seconds, and its guard kills the worker process 3 s
# later (checked every 0.5 s): no job outlives Q_TIMEOUT + Q_KILL_BUFFER. An unacknowledged
# job (its worker died) is handed out again after Q_RETRY seconds.
Q_TIMEOUT = int(os.environ.get("Q_TIMEOUT", "60"))
Q_RETRY = int(os.environ.get("Q_RETRY", "90"))
Q_KILL_BUFFER = 5
if Q_TIMEOUT <= 0 or Q_RETRY <= Q_TIMEOUT:
    raise ImproperlyConfigured("Q_RETRY must be larger than Q_TIMEOUT (both in seconds, > 0).")
# The ORM broker gives delivery receipts (a task stays queued until a worker acknowledges it)
# and shares the database's durability, with or without Redis.
Q_CLUSTER = {
    "name": "relay",
    "orm": "default",
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    # INFO logs every task (twice a second with the schedules); failures are WARNING and up.
    # django-q2 applies this only to a logger without handlers: LOGGING sets it too (below).
    "log_level": Q_LOG_LEVEL,
    "timeout": Q_TIMEOUT,
    "retry": Q_RETRY,
    "max_attempts": 5,
    "ack_failures": True,
    "catch_up": False,
    "poll": 0.2,
    "label": "Background jobs",
    "sync": TESTING and not env_bool("RELAY_ASYNC_JOBS"),
}
# Stored webhooks are processed by the `ingest` process; tests process them inline, like jobs.
INGEST_INLINE = TESTING and not env_bool("RELAY_ASYNC_JOBS")
# The web process's own small async pool for accepting webhooks (PostgreSQL): a webhook that
# is not stored within the timeout is answered 503.
INGEST_POOL_MAX = int(os.environ.get("INGEST_POOL_MAX", "4"))
INGEST_POOL_TIMEOUT = float(os.environ.get("INGEST_POOL_TIMEOUT", "1.0"))
# Webhooks queued in one web process for the next statement; beyond it, 503 at once.
INGEST_QUEUE_MAX = int(os.environ.get("INGEST_QUEUE_MAX", "2000"))

# --- Auth and sessions ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    # Tests create many users; PBKDF2 costs ~0.25 s per password on a small machine.
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LOGIN_URL = "console:login"
LOGIN_REDIRECT_URL = "console:inbox"
LOGOUT_REDIRECT_URL = "console:login"

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG and not TESTING
CSRF_COOKIE_SECURE = not DEBUG and not TESTING
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and not TESTING)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- Languages -----------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("es", _("Spanish")),
    ("fr", _("French")),
    ("it", _("Italian")),
    ("nb", _("Norwegian Bokmål")),
    ("ar", _("Arabic")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Static and media ----------------------------------------------------------------------
STATIC_URL = "/static/"
# Where `collectstatic` writes (the release step); a deploy may put it on a shared volume.
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG or TESTING
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = DEBUG or TESTING

# Attachments: provider media and uploads outside these limits are refused with a clear reason.
ATTACHMENT_MAX_BYTES = int(os.environ.get("ATTACHMENT_MAX_BYTES", str(10 * 1024 * 1024)))
ATTACHMENT_ALLOWED_TYPES = [
    "image/jpeg",
    "image/png",
    "image/gif",
    "image/webp",
    "application/pdf",
    "audio/ogg",
    "audio/mpeg",
    "audio/amr",
    "video/mp4",
    "text/plain",
    "text/vcard",
]
DATA_UPLOAD_MAX_MEMORY_SIZE = ATTACHMENT_MAX_BYTES + 1024 * 1024
# Any declared body above this is refused with 413 before it is read or parsed.
REQUEST_BODY_MAX_BYTES = ATTACHMENT_MAX_BYTES + 1024 * 1024

# --- Web widget ----------------------------------------------------------------------------
# How long a widget token that speaks for a shop-verified customer stays valid (seconds);
# anonymous visitor tokens keep their long lifetime.
WIDGET_VERIFIED_TOKEN_MAX_AGE = int(
    os.environ.get("WIDGET_VERIFIED_TOKEN_MAX_AGE", str(7 * 24 * 60 * 60))
)

# --- Integrations --------------------------------------------------------------------------
# Appended to the webhook URLs Relay hands out (Twilio's connection overrides): retry on a
# read timeout and on 5xx (our 503 under overload), 3 times within Twilio's 15 s.
TWILIO_WEBHOOK_OVERRIDES = os.environ.get("TWILIO_WEBHOOK_OVERRIDES", "#rc=3&rp=ct,rt,5xx&rt=5000")
TWILIO_API_BASE_URL = os.environ.get(
    # Under tests nothing may reach the internet: an unset base URL refuses at once.
    "TWILIO_API_BASE_URL", "http://127.0.0.1:9" if TESTING else "https://api.twilio.com"
).rstrip("/")
# A send claim older than this belongs to a job that is certainly dead (killed at Q_TIMEOUT +
# Q_KILL_BUFFER at the latest); only then is it reconciled with Twilio and, if Twilio has no
# such message, sent again (channels_app/twilio/reconcile.py). The margin over Q_TIMEOUT also
# gives a request the dying worker had already written time to reach Twilio's list.
TWILIO_STALE_AFTER_SECONDS = float(
    os.environ.get("TWILIO_STALE_AFTER_SECONDS", str(Q_TIMEOUT + 30))
)
if TWILIO_STALE_AFTER_SECONDS < Q_TIMEOUT + Q_KILL_BUFFER:
    raise ImproperlyConfigured(
        f"TWILIO_STALE_AFTER_SECONDS must be at least Q_TIMEOUT + {Q_KILL_BUFFER} seconds: a "
        "younger claim may belong to a job that is still sending."
    )

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.SessionAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.CursorPagination",
    "PAGE_SIZE": 50,
}

# Customer data is personal data: log ids, never message bodies or addresses.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # django-q2 sets its logger's level only when no handler is reachable from it, and the
        # root handler above always is: without this, the root's INFO printed every task.
        "django-q": {"level": Q_LOG_LEVEL},
    },
}
