"""The channel-layer groups of one websocket, kept through a Redis outage.

A join that fails (the layer cannot reach Redis) is remembered and tried again by `retry()`,
which the consumers call on every ping, so a socket opened during an outage receives live
events once Redis is back. Leaving a group and ephemeral sends (presence, typing) never raise.
Logged events a socket misses in between reach it from the event log (channels_app.catch_up).
"""

from __future__ import annotations

import logging
from typing import Any

from helpdesk.core.outage_log import warn_outage

logger = logging.getLogger(__name__)


def _layer_failed(action: str, exc: Exception) -> None:
    warn_outage(
        logger,
        f"socket-{action}",
        "websocket could not %s a group (%s); it stays open and catches up on its pings",
        action,
        type(exc).__name__,
    )


class SocketGroups:
    def __init__(self, layer: Any, channel_name: str) -> None:
        self._layer = layer
        self._channel = channel_name
        self._wanted: set[str] = set()
        self.pending: set[str] = set()  # wanted, not joined yet (the layer failed)

    def __contains__(self, group: object) -> bool:
        return group in self._wanted

    async def join(self, *groups: str) -> None:
        new = [group for group in groups if group not in self._wanted]
        self._wanted.update(new)
        self.pending.update(new)
        await self.retry()

    async def retry(self) -> None:
        """Join the groups still pending; stops at the first failure (the rest would fail
        the same way) and leaves them for the next call."""
        for group in sorted(self.pending):
            try:
                await self._layer.group_add(group, self._channel)
            except Exception as exc:  # any layer failure: the socket lives on
                _layer_failed("join", exc)
                return
            self.pending.discard(group)

    async def leave(self, group: str) -> None:
        if group not in self._wanted:
            return
        self._wanted.discard(group)
        self.pending.discard(group)
        try:
            await self._layer.group_discard(group, self._channel)
        except Exception as exc:
            _layer_failed("leave", exc)

    async def leave_all(self) -> None:
        for group in list(self._wanted):
            await self.leave(group)


async def send_ephemeral(layer: Any, group: str, message: dict[str, Any]) -> None:
    """Presence and typing: sent when the layer can, never logged, never raising."""
    try:
        await layer.group_send(group, message)
    except Exception as exc:
        _layer_failed("send to", exc)
