"""Cheap delivery of channel-layer events to sockets.

Channels' `AsyncConsumer.dispatch` closes stale database connections before every message it
handles, which costs a thread hop per message per socket: with a hundred agents online, most of
a web process's time for a busy inbox. Our consumers reach the database only through
`database_sync_to_async`, which already does that around each call, so the layer's events
(which touch no database) skip it. Everything else is dispatched as Channels does."""

from __future__ import annotations

from typing import Any

from channels.consumer import get_handler_name

DATABASE_FREE = frozenset({"relay.event", "relay.events", "relay.presence"})


class LayerEventsDispatch:
    async def dispatch(self, message: dict[str, Any]) -> None:
        if message.get("type") in DATABASE_FREE:
            await getattr(self, get_handler_name(message))(message)
            return
        await super().dispatch(message)  # type: ignore[misc]
