"""The channel (and its webhook secret) for an accept request, without a query per request.

- A known channel is served from memory; after `TTL_SECONDS` the next request still gets the
  cached entry at once while one background read refreshes it (a webhook never waits for the
  database because an entry expired).
- A signature that does not verify triggers one fresh read (at most once a second per
  channel), so a rotated auth token is picked up by the next webhook instead of refusing
  Twilio's requests until the entry expires, and a flood of forged requests costs one read a
  second, not one per request.
- Concurrent requests for the same id share one read; at most `MAX_ENTRIES` ids are kept (the
  least recently used go first), so a flood of made-up ids cannot grow memory.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from dataclasses import dataclass
from uuid import UUID

from asgiref.sync import sync_to_async

from helpdesk.core.db import release_connection
from helpdesk.inboxes.models import Channel

TTL_SECONDS = 10.0
REFRESH_MIN_INTERVAL = 1.0
MAX_ENTRIES = 10_000


@dataclass
class _Entry:
    channel: Channel | None
    loaded_at: float
    refreshed_at: float = float("-inf")


_entries: OrderedDict[UUID, _Entry] = OrderedDict()
_loading: dict[UUID, asyncio.Future[_Entry]] = {}
_background: set[asyncio.Task[_Entry]] = set()


def _load(public_id: UUID) -> Channel | None:
    try:
        return Channel.objects.filter(public_id=public_id, is_active=True).first()
    finally:
        release_connection()


_load_async = sync_to_async(_load)


def _store(public_id: UUID, entry: _Entry) -> _Entry:
    _entries[public_id] = entry
    _entries.move_to_end(public_id)
    while len(_entries) > MAX_ENTRIES:
        _entries.popitem(last=False)
    return entry


async def _read(public_id: UUID, *, refresh: bool = False) -> _Entry:
    """One database read per id at a time; concurrent callers on this event loop share its
    result (callers on another loop, e.g. Django views under async_to_sync, read their own)."""
    loop = asyncio.get_running_loop()
    pending = _loading.get(public_id)
    if pending is not None and not pending.done() and pending.get_loop() is loop:
        return await asyncio.shield(pending)
    future: asyncio.Future[_Entry] = loop.create_future()
    _loading[public_id] = future
    try:
        now = time.monotonic()
        channel = await _load_async(public_id)
        entry = _store(public_id, _Entry(channel, now, refreshed_at=now if refresh else -1e18))
        future.set_result(entry)
        return entry
    except BaseException as exc:
        future.set_exception(exc)
        future.exception()  # retrieved: nobody else may be waiting
        raise
    finally:
        if _loading.get(public_id) is future:
            del _loading[public_id]


async def channel_for(public_id: UUID) -> Channel | None:
    """The active channel with this public id (cached), or None."""
    entry = _entries.get(public_id)
    if entry is None:
        return (await _read(public_id)).channel
    _entries.move_to_end(public_id)
    if time.monotonic() - entry.loaded_at > TTL_SECONDS and public_id not in _loading:
        task = asyncio.ensure_future(_read(public_id))  # serve the cached entry meanwhile
        _background.add(task)
        task.add_done_callback(_background.discard)
    return entry.channel


async def channel_refresh(public_id: UUID) -> tuple[Channel | None, bool]:
    """Read the channel again (after a signature failure), at most once a second per channel.
    Returns the channel and whether it was read now (False: the cached one, unchanged)."""
    entry = _entries.get(public_id)
    if entry is not None and time.monotonic() - entry.refreshed_at < REFRESH_MIN_INTERVAL:
        return entry.channel, False
    return (await _read(public_id, refresh=True)).channel, True


def forget_all() -> None:
    """Drop every cached channel (tests; a process that knows channels changed)."""
    _entries.clear()
