"""Waking the ingest process when a webhook is stored.

PostgreSQL: LISTEN on its own autocommit connection; the accept INSERT sends NOTIFY in the same
statement, so an idle ingest process starts within milliseconds. A missed notification costs at
most `fallback_seconds` (the wait also ends then, to pick up retries whose backoff ran out).
Other databases (SQLite, embedded mode): a short poll of the pending index.
"""

from __future__ import annotations

import contextlib
import logging
import time

import psycopg
from django.db import connection

from channels_app.ingest.store import NOTIFY_CHANNEL
from helpdesk.core.db import conninfo

logger = logging.getLogger(__name__)


class Waiter:
    def __init__(self, *, fallback_seconds: float = 1.0, poll_seconds: float = 0.1) -> None:
        self.fallback_seconds = fallback_seconds
        self.poll_seconds = poll_seconds
        self._conn: psycopg.Connection | None = None

    def _listen(self) -> psycopg.Connection:
        if self._conn is None or self._conn.closed:
            # Keepalives: a half-open connection (a dropped route, a failover) is noticed in
            # about a minute and replaced, instead of leaving us on the 1 s fallback for good.
            self._conn = psycopg.connect(
                conninfo(),
                autocommit=True,
                connect_timeout=5,
                keepalives=1,
                keepalives_idle=30,
                keepalives_interval=10,
                keepalives_count=3,
            )
            self._conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        return self._conn

    def wait(self) -> None:
        """Return when a webhook may be waiting (notified, or after the fallback interval)."""
        if connection.vendor != "postgresql":
            time.sleep(self.poll_seconds)
            return
        try:
            for _ in self._listen().notifies(timeout=self.fallback_seconds, stop_after=1):
                break
        except psycopg.Error:
            logger.warning("ingest: LISTEN connection failed; reconnecting", exc_info=True)
            self.close()
            time.sleep(min(1.0, self.fallback_seconds))

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None
