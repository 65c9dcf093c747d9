"""Embedded-mode event relay: without Redis each process has its own in-memory channel layer,
so the web process polls the event log and forwards rows other processes (the worker) wrote.

Events raised inside the web process are sent at once and remembered, so the poller never
sends them twice. The poller re-reads a short time window rather than trusting id order alone,
because on PostgreSQL ids may commit out of order.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from helpdesk.core.models import RealtimeEvent
from helpdesk.core.realtime import layer_message

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2
WINDOW = timedelta(seconds=15)
_SEEN_LIMIT = 50_000

_seen: OrderedDict[int, float] = OrderedDict()
_task: asyncio.Task[None] | None = None
_pending_sends: set[asyncio.Future[None]] = set()


def _remember(event_id: int) -> bool:
    """Record an id; False if it was already delivered by this process."""
    if event_id in _seen:
        return False
    _seen[event_id] = time.monotonic()
    while len(_seen) > _SEEN_LIMIT:
        _seen.popitem(last=False)
    return True


def deliver_local(group: str, payload: dict[str, Any]) -> None:
    """Send an event raised in this process to this process's layer (after commit)."""
    deliver_local_many([(group, payload)])


def deliver_local_many(events: list[tuple[str, dict[str, Any]]]) -> None:
    """Send events raised in this process to its own sockets, in order, in one hop.

    Management commands (the worker, the ingest process) serve no sockets: nothing to send
    to, so they skip it. Their events reach browsers through the web process's relay."""
    if settings.MANAGEMENT_COMMAND not in ("", "runserver"):
        return
    fresh = [(group, payload) for group, payload in events if _remember(payload["id"])]
    layer = get_channel_layer()
    if not fresh or layer is None:
        return

    async def send_all() -> None:
        for group, payload in fresh:
            await layer.group_send(group, layer_message(payload))

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        async_to_sync(send_all)()
    else:  # called from async code: schedule without blocking the loop
        future = asyncio.ensure_future(send_all())
        _pending_sends.add(future)
        future.add_done_callback(_pending_sends.discard)


@database_sync_to_async
def _fetch_recent(since_id: int) -> list[tuple[int, str, dict[str, Any]]]:
    cutoff = timezone.now() - WINDOW
    rows = (
        RealtimeEvent.objects.filter(created_at__gte=cutoff, id__gt=since_id)
        .order_by("id")
        .values_list("id", "group", "payload")[:1000]
    )
    return list(rows)


@database_sync_to_async
def _latest_id() -> int:
    last = RealtimeEvent.objects.order_by("-id").values_list("id", flat=True).first()
    return last or 0


async def _poll_forever() -> None:
    layer = get_channel_layer()
    floor = await _latest_id()
    # Look back a little below the start so out-of-order commits are still seen.
    since = max(0, floor - 1000)
    first = True
    while True:
        try:
            rows = await _fetch_recent(since)
            for event_id, group, payload in rows:
                if first and event_id <= floor:
                    _remember(event_id)  # existed before this process started listening
                    continue
                if _remember(event_id):
                    payload = {**payload, "id": event_id}
                    await layer.group_send(group, layer_message(payload))
            first = False
            if len(rows) == 1000:
                since = rows[-1][0]
                continue
        except asyncio.CancelledError:
            raise
        except Exception:  # never let the relay die; the next tick retries
            logger.exception("event relay tick failed")
        await asyncio.sleep(POLL_SECONDS)


def ensure_running() -> None:
    """Start the poller in the current event loop once per process (idempotent)."""
    global _task
    if _task is not None and not _task.done():
        return
    _task = asyncio.get_running_loop().create_task(_poll_forever())
