"""Storing one accepted webhook: one INSERT, at most once per (channel, kind, provider id).

On PostgreSQL the ASGI accept path uses its own small async pool (no thread hop, no Django
request machinery) and wakes the ingest process with NOTIFY in the same statement. Elsewhere
(SQLite, or Django's own request cycle in tests) the ORM does the same work.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction
from psycopg.types.json import Jsonb

from channels_app.models import RawInbound
from helpdesk.core.db import conninfo, release_connection
from helpdesk.core.text import clean_data

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL = "relay_ingest"


class Overloaded(Exception):
    """No database connection in time: answer 503 with Retry-After."""


@dataclass(frozen=True)
class RawRow:
    channel_id: int
    kind: str
    external_id: str
    order_key: str
    payload: dict[str, Any]

    def cleaned(self) -> RawRow:
        """PostgreSQL refuses NUL in jsonb: store what can be stored."""
        return RawRow(
            channel_id=self.channel_id,
            kind=self.kind,
            external_id=clean_data(self.external_id)[:200],
            order_key=clean_data(self.order_key)[:200],
            payload=clean_data(self.payload),
        )


def raw_store(row: RawRow) -> None:
    """Store `row` unless it is already stored (ORM path; one transaction)."""
    row = row.cleaned()
    with transaction.atomic():
        RawInbound.objects.bulk_create(
            [
                RawInbound(
                    channel_id=row.channel_id,
                    kind=row.kind,
                    external_id=row.external_id,
                    order_key=row.order_key,
                    payload=row.payload,
                )
            ],
            ignore_conflicts=True,
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])


# Built from constants only (table name, channel name). One statement stores many rows (one
# array per column) and wakes the ingest process once.
_INSERT_MANY = f"""
WITH stored AS (
    INSERT INTO {RawInbound._meta.db_table}
        (channel_id, kind, external_id, order_key, payload, received_at, state, attempts,
         available_at, last_error)
    SELECT c, k, e, o, p, now(), 'pending', 0, now(), ''
    FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::text[], %s::jsonb[]) AS v(c, k, e, o, p)
    ON CONFLICT (channel_id, kind, external_id) DO NOTHING
    RETURNING 1
)
SELECT pg_notify('{NOTIFY_CHANNEL}', '') WHERE EXISTS (SELECT 1 FROM stored)
"""  # noqa: S608

MAX_ROWS_PER_STATEMENT = 500


class _AcceptWriter:
    """Stores accepted webhooks for one event loop (uvicorn runs one per process).

    Requests queue their row and wait; up to INGEST_POOL_MAX flushers each take what is queued
    and store it in one statement on a connection of their own (psycopg async pool). Idle, a
    row is stored at once, alone; under load, rows that arrive while a statement runs go
    together in the next one: one round trip and one commit for many webhooks. A request that
    finds the queue full, or whose row no statement took within INGEST_POOL_TIMEOUT, is told
    to come back (Overloaded -> 503); a row in a statement waits for it (5 s at most)."""

    def __init__(self) -> None:
        self._pool: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._queue: list[tuple[RawRow, asyncio.Future[None]]] = []
        self._flushers: set[asyncio.Task[None]] = set()

    async def pool(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._pool is not None and self._loop is loop:
            return self._pool
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop, self._pool = asyncio.Lock(), loop, None
            self._queue, self._flushers = [], set()
        async with self._lock:
            if self._pool is None:
                from psycopg_pool import AsyncConnectionPool

                pool = AsyncConnectionPool(
                    conninfo(),
                    min_size=1,
                    max_size=settings.INGEST_POOL_MAX,
                    timeout=settings.INGEST_POOL_TIMEOUT,
                    # A stuck database must not hold requests: 5 s per statement at most.
                    kwargs={"autocommit": True, "options": "-c statement_timeout=5000"},
                    # A connection the server dropped (restart, failover) is replaced before
                    # it is handed out, instead of failing the next webhooks.
                    check=AsyncConnectionPool.check_connection,
                    name="relay-accept",
                    open=False,
                )
                await pool.open()
                self._pool = pool
        return self._pool

    async def store(self, row: RawRow) -> None:
        await self.pool()
        if len(self._queue) >= settings.INGEST_QUEUE_MAX:
            raise Overloaded
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (row, done)
        self._queue.append(entry)
        # Count running flushers only: a finished one leaves the set a moment later.
        if sum(1 for task in self._flushers if not task.done()) < settings.INGEST_POOL_MAX:
            task = asyncio.ensure_future(self._flush())
            self._flushers.add(task)
            task.add_done_callback(self._flushers.discard)
        try:
            await asyncio.wait_for(asyncio.shield(done), settings.INGEST_POOL_TIMEOUT)
        except TimeoutError:
            if entry in self._queue:  # no statement took it in time: come back later
                self._queue.remove(entry)
                raise Overloaded("no connection in time") from None
            await done  # in a statement already (bounded by its statement timeout)

    async def _flush(self) -> None:
        from psycopg_pool import PoolTimeout, TooManyRequests

        while self._queue:
            batch = self._queue[:MAX_ROWS_PER_STATEMENT]
            del self._queue[:MAX_ROWS_PER_STATEMENT]
            rows = [row for row, _ in batch]
            try:
                async with self._pool.connection() as conn:
                    await conn.execute(
                        _INSERT_MANY,
                        (
                            [r.channel_id for r in rows],
                            [r.kind for r in rows],
                            [r.external_id for r in rows],
                            [r.order_key for r in rows],
                            [Jsonb(r.payload, dumps=json.dumps) for r in rows],
                        ),
                    )
            except (PoolTimeout, TooManyRequests) as exc:
                outcome: BaseException | None = Overloaded(str(exc))
            except Exception as exc:  # the requests answer it; the flusher goes on
                logger.exception("storing %s accepted webhooks failed", len(rows))
                outcome = exc
            else:
                outcome = None
            for _row, done in batch:
                if done.done():  # the client went away
                    continue
                if outcome is None:
                    done.set_result(None)
                else:
                    done.set_exception(outcome)

    async def close(self) -> None:
        """Close the pool (tests that change its settings; shutdown)."""
        if self._pool is not None:
            await self._pool.close()
        self._pool = None


accept_pool = _AcceptWriter()


async def raw_store_native(row: RawRow) -> None:
    """Store `row` through the accept writer (PostgreSQL). Raises Overloaded when the queue is
    full or no connection is free within INGEST_POOL_TIMEOUT."""
    await accept_pool.store(row.cleaned())


def _store_and_release(row: RawRow) -> None:
    try:
        raw_store(row)
    finally:
        release_connection()


_store_orm = sync_to_async(_store_and_release)


async def raw_store_async(row: RawRow, *, native: bool) -> None:
    """Store `row` from async code: through the async pool when `native` (the raw ASGI route)
    and the database is PostgreSQL, else through the ORM on Django's thread."""
    if native and connection.vendor == "postgresql":
        await raw_store_native(row)
    else:
        await _store_orm(row)
