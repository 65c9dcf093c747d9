"""The channel (and its webhook secret) for an accept request, without a query per request.

Entries live `TTL_SECONDS`. A signature that does not verify triggers one fresh read (at most
once a second per channel), so a rotated auth token is picked up by the next webhook instead of
refusing Twilio's requests until the entry expires, and a flood of forged requests costs one
read a second, not one per request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from uuid import UUID

from asgiref.sync import sync_to_async

from helpdesk.core.db import release_connection
from helpdesk.inboxes.models import Channel

TTL_SECONDS = 10.0
REFRESH_MIN_INTERVAL = 1.0


@dataclass
class _Entry:
    channel: Channel | None
    loaded_at: float
    refreshed_at: float = float("-inf")


_entries: dict[UUID, _Entry] = {}


def _load(public_id: UUID) -> Channel | None:
    try:
        return Channel.objects.filter(public_id=public_id, is_active=True).first()
    finally:
        release_connection()


_load_async = sync_to_async(_load)


async def channel_for(public_id: UUID) -> Channel | None:
    """The active channel with this public id (cached), or None."""
    now = time.monotonic()
    entry = _entries.get(public_id)
    if entry is None or now - entry.loaded_at > TTL_SECONDS:
        entry = _Entry(await _load_async(public_id), now)
        _entries[public_id] = entry
    return entry.channel


async def channel_refresh(public_id: UUID) -> Channel | None:
    """Read the channel again (after a signature failure); rate-limited per channel."""
    now = time.monotonic()
    entry = _entries.get(public_id)
    if entry is not None and now - entry.refreshed_at < REFRESH_MIN_INTERVAL:
        return entry.channel
    entry = _Entry(await _load_async(public_id), now, refreshed_at=now)
    _entries[public_id] = entry
    return entry.channel


def forget_all() -> None:
    """Drop every cached channel (tests; a process that knows channels changed)."""
    _entries.clear()
