"""Realtime events: recorded with the change, sent to websocket groups only after commit.

Every event is a plain JSON dict with `type`, `v` (payload version) and `id` (the event-log
cursor). Group names come from the helpers below, never from string literals elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from helpdesk.core.models import RealtimeEvent
from helpdesk.core.outage_log import warn_outage

logger = logging.getLogger(__name__)

EVENT_VERSION = 1
# A request that raised an event never waits longer than this for the channel layer.
SEND_TIMEOUT_SECONDS = 1.0


def conversation_group(conversation_id: int) -> str:
    return f"conversation.{conversation_id}"


def inbox_group(channel_id: int) -> str:
    return f"inbox.{channel_id}"


def agent_group(user_id: int) -> str:
    return f"agent.{user_id}"


def visitor_group(customer_id: int) -> str:
    return f"visitor.{customer_id}"


def customer_group(customer_id: int) -> str:
    return f"customer.{customer_id}"


def latest_event_id() -> int:
    """The event-log cursor now. Pages read it before their queries, so the browser's socket
    catches up on whatever happened while the page was rendering."""
    return RealtimeEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0


def layer_relays_across_processes() -> bool:
    """True when the channel layer itself reaches every process (Redis)."""
    return bool(settings.REDIS_URL)


def layer_message(payload: dict[str, Any]) -> dict[str, Any]:
    """The channel-layer message for one logged event: the event, and its JSON text encoded
    once here, so a hundred sockets in a group send the same text instead of encoding it a
    hundred times."""
    return {"type": "relay.event", "event": payload, "raw": json.dumps(payload)}


def layer_batch_message(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """One channel-layer message for a group's events of a batch, in order (each encoded once)."""
    return {
        "type": "relay.events",
        "events": payloads,
        "raw": [json.dumps(payload) for payload in payloads],
    }


def broadcast_on_commit(group: str, event: dict[str, Any]) -> dict[str, Any]:
    """Record `event` for `group` now; send it to the group once the transaction commits.

    The event must be JSON-serializable (checked here, so a bad payload fails at its source).
    Returns the event as it will be sent, including its `id`.
    """
    if "type" not in event:
        raise ValueError("A realtime event needs a 'type'.")
    payload = json.loads(json.dumps({"v": EVENT_VERSION, **event}))
    row = RealtimeEvent.objects.create(group=group, type=payload["type"], payload=payload)
    payload["id"] = row.id
    if layer_relays_across_processes():
        transaction.on_commit(lambda: send_now_rollback_unsafe(group, payload))
    else:
        # In-process listeners still get it at once; other processes get it from the relay.
        transaction.on_commit(lambda: _mark_local(group, payload))
    return payload


async def _group_send_bounded(layer: Any, group: str, message: dict[str, Any]) -> None:
    async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
        await layer.group_send(group, message)


def send_now_rollback_unsafe(group: str, payload: dict[str, Any]) -> None:
    """Send immediately, ignoring transactions. Only for code that already runs after commit.

    Never raises and never waits more than SEND_TIMEOUT_SECONDS: an event the layer could not
    take (Redis down) is still in the event log, and open sockets catch up from it on their
    next ping."""
    layer = get_channel_layer()
    if layer is None:
        return
    message = layer_message(payload)
    try:
        async_to_sync(_group_send_bounded)(layer, group, message)
    except (TimeoutError, OSError) as exc:  # unreachable or too slow (ChannelLayerUnavailable)
        warn_outage(
            logger,
            "realtime-send",
            "realtime send failed (%s) for group=%s event_id=%s; sockets catch up from the log",
            type(exc).__name__,
            group,
            payload.get("id"),
        )
    except Exception:  # a broken layer must never break the write that raised the event
        logger.exception("realtime send failed for group=%s event_id=%s", group, payload.get("id"))


def _mark_local(group: str, payload: dict[str, Any]) -> None:
    from helpdesk.core import relay

    relay.deliver_local(group, payload)


def broadcast_many_on_commit(events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """`broadcast_on_commit` for many (group, event) pairs at once: one INSERT for the log rows
    and, after commit, one send per group carrying that group's events in order. For batch
    writers (the ingest process); each event reaches clients exactly as a single one would."""
    if not events:
        return []
    payloads = []
    for _group, event in events:
        if "type" not in event:
            raise ValueError("A realtime event needs a 'type'.")
        payloads.append(json.loads(json.dumps({"v": EVENT_VERSION, **event})))
    rows = RealtimeEvent.objects.bulk_create(
        [
            RealtimeEvent(group=group, type=payload["type"], payload=payload)
            for (group, _event), payload in zip(events, payloads, strict=True)
        ]
    )
    by_group: dict[str, list[dict[str, Any]]] = {}
    for (group, _event), payload, row in zip(events, payloads, rows, strict=True):
        payload["id"] = row.id
        by_group.setdefault(group, []).append(payload)
    if layer_relays_across_processes():
        transaction.on_commit(lambda: send_many_now_rollback_unsafe(by_group))
    else:
        from helpdesk.core import relay

        ordered = [(g, p) for g, ps in by_group.items() for p in ps]
        transaction.on_commit(lambda: relay.deliver_local_many(ordered))
    return payloads


async def _group_send_many_bounded(layer: Any, by_group: dict[str, list[dict[str, Any]]]) -> None:
    async with asyncio.timeout(SEND_TIMEOUT_SECONDS):
        await asyncio.gather(
            *(
                layer.group_send(group, layer_batch_message(payloads))
                for group, payloads in by_group.items()
            )
        )


def send_many_now_rollback_unsafe(by_group: dict[str, list[dict[str, Any]]]) -> None:
    """Send each group its events in one message (after commit). Never raises; see
    `send_now_rollback_unsafe`."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(_group_send_many_bounded)(layer, by_group)
    except (TimeoutError, OSError) as exc:
        warn_outage(
            logger,
            "realtime-send",
            "realtime send failed (%s) for %s groups; sockets catch up from the log",
            type(exc).__name__,
            len(by_group),
        )
    except Exception:
        logger.exception("realtime send failed for %s groups", len(by_group))
