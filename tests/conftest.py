"""Test session setup. The suite runs against whatever DATABASE_URL / REDIS_URL say (SQLite and
the in-memory channel layer by default). Tests that need PostgreSQL or Redis are marked; without
those services they are deselected (and reported), never silently skipped; so are tests that
start a redis-server of their own (fixture own_redis) where it is not installed. With
RELAY_REQUIRE_SERVICES=1 (CI's PostgreSQL pass) any skipped test fails the run."""

from __future__ import annotations

import os

import pytest
from django.conf import settings

from tests.support import redis_server

pytest_plugins = ["tests.support.fixtures"]

_REQUIRE = os.environ.get("RELAY_REQUIRE_SERVICES") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if _REQUIRE and not (settings.DATABASE_IS_POSTGRES and settings.REDIS_URL):
        raise pytest.UsageError("RELAY_REQUIRE_SERVICES=1 needs DATABASE_URL and REDIS_URL set.")
    missing = []
    if not settings.DATABASE_IS_POSTGRES:
        missing.append("postgres")
    if not settings.REDIS_URL:
        missing.append("redis")
    # Tests that stop and restart a Redis start their own (fixture own_redis).
    no_binary = redis_server.BINARY is None
    if _REQUIRE and no_binary:
        raise pytest.UsageError("RELAY_REQUIRE_SERVICES=1 needs redis-server installed.")
    if not missing and not no_binary:
        return
    keep, drop = [], []
    for item in items:
        needs_binary = no_binary and "own_redis" in getattr(item, "fixturenames", ())
        (drop if needs_binary or any(m in item.keywords for m in missing) else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
        config._relay_deselected = len(drop)  # type: ignore[attr-defined]


def pytest_report_header(config: pytest.Config) -> str:
    return (
        f"relay: database={settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]} "
        f"redis={'yes' if settings.REDIS_URL else 'no'}"
    )


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    dropped = getattr(config, "_relay_deselected", 0)
    if dropped:
        terminalreporter.write_line(
            f"relay: {dropped} tests need PostgreSQL/Redis and run in the PostgreSQL pass "
            "(DATABASE_URL + REDIS_URL), or need redis-server installed."
        )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if not _REQUIRE:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        reporter.write_line(f"relay: {skipped} tests skipped in a pass that must run them all.")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
