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


# Built from constants only (table name, channel name).
_INSERT = f"""
WITH stored AS (
    INSERT INTO {RawInbound._meta.db_table}
        (channel_id, kind, external_id, order_key, payload, received_at, state, attempts,
         available_at, last_error)
    VALUES (%s, %s, %s, %s, %s, now(), 'pending', 0, now(), '')
    ON CONFLICT (channel_id, kind, external_id) DO NOTHING
    RETURNING id
)
SELECT pg_notify('{NOTIFY_CHANNEL}', '') FROM stored
"""  # noqa: S608


class _AcceptPool:
    """One psycopg AsyncConnectionPool per event loop (uvicorn runs one per process)."""

    def __init__(self) -> None:
        self._pool: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    async def get(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._pool is not None and self._loop is loop:
            return self._pool
        if self._lock is None or self._loop is not loop:
            self._lock, self._loop, self._pool = asyncio.Lock(), loop, None
        async with self._lock:
            if self._pool is None:
                from psycopg_pool import AsyncConnectionPool

                # A few connections serve hundreds of requests a second (each holds one for a
                # single INSERT); a request that cannot get one quickly is told to come back.
                pool = AsyncConnectionPool(
                    conninfo(),
                    min_size=1,
                    max_size=settings.INGEST_POOL_MAX,
                    timeout=settings.INGEST_POOL_TIMEOUT,
                    max_waiting=settings.INGEST_POOL_MAX_WAITING,
                    kwargs={"autocommit": True},
                    name="relay-accept",
                    open=False,
                )
                await pool.open()
                self._pool = pool
        return self._pool

    async def close(self) -> None:
        """Close the pool (tests that change its settings; shutdown)."""
        if self._pool is not None:
            await self._pool.close()
        self._pool = None


accept_pool = _AcceptPool()


async def raw_store_native(row: RawRow) -> None:
    """Store `row` through the async pool (PostgreSQL). Raises Overloaded when no connection
    is free within INGEST_POOL_TIMEOUT or too many requests already wait for one."""
    from psycopg_pool import PoolTimeout, TooManyRequests

    row = row.cleaned()
    pool = await accept_pool.get()
    try:
        async with pool.connection() as conn:
            await conn.execute(
                _INSERT,
                (
                    row.channel_id,
                    row.kind,
                    row.external_id,
                    row.order_key,
                    Jsonb(row.payload, dumps=json.dumps),
                ),
            )
    except (PoolTimeout, TooManyRequests) as exc:
        raise Overloaded from exc


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
