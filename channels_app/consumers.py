"""Websocket consumers. `ConsoleConsumer` serves the agent console at /ws/console/.

Server -> client: every realtime event of the groups the agent may see (`inbox.<channel>` for
each visible channel, `agent.<user>`), as the logged JSON dict (`type`, `v`, `id`, ids), plus
ephemeral `presence` messages for the conversation the agent is looking at.

Client -> server:
  {"type": "catch_up", "after": <event id>}   replay logged events with a larger id (bounded),
                                              then {"type": "catch_up.done", "last_id", "more"}
  {"type": "presence", "conversation_id": n, "state": "viewing" | "typing" | "left"}
  {"type": "availability", "state": "online" | "away"}
  {"type": "ping"}                            -> {"type": "pong"}, or close 4401 once the
                                              session has ended (signed out, deactivated)

Redis is optional at run time: the socket is accepted even when the channel layer cannot join
its groups, and each ping retries the joins and first sends the logged events of its groups
it has not been given (channels_app.catch_up), so a tab open through a Redis outage gets what
happened within one ping interval. Too many to replay: {"type": "catch_up.done", "last_id",
"more": true}, and the page reloads what it shows.
"""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from channels_app.catch_up import LogCursor
from channels_app.layer_dispatch import LayerEventsDispatch
from channels_app.socket_groups import SocketGroups, send_ephemeral
from helpdesk.console.selectors import visible_channel_ids
from helpdesk.core import relay
from helpdesk.core.models import RealtimeEvent
from helpdesk.core.realtime import (
    agent_group,
    conversation_group,
    inbox_group,
    latest_event_id,
    layer_relays_across_processes,
)

logger = logging.getLogger(__name__)

CATCH_UP_LIMIT = 500
PRESENCE_STATES = frozenset({"viewing", "typing", "left"})


@database_sync_to_async
def _agent_name(user: Any) -> str | None:
    profile = getattr(user, "agent_profile", None)
    if profile is None:
        return None
    return profile.display_name or user.get_username()


@database_sync_to_async
def _visible_groups(user: Any) -> list[str]:
    return [inbox_group(pk) for pk in visible_channel_ids(user)]


@database_sync_to_async
def _events_after(groups: list[str], after: int) -> list[dict[str, Any]]:
    rows = (
        RealtimeEvent.objects.filter(group__in=groups, id__gt=after)
        .order_by("id")
        .values_list("id", "payload")[: CATCH_UP_LIMIT + 1]
    )
    return [{**payload, "id": event_id} for event_id, payload in rows]


_latest_event_id = database_sync_to_async(latest_event_id)


@database_sync_to_async
def _still_signed_in(scope: dict[str, Any]) -> bool:
    """The socket's session still exists and its user is still an active agent: sign-out,
    deactivation or a revoked session end the live feed too."""
    from django.contrib.auth import get_user_model

    session = scope.get("session")
    user = scope.get("user")
    if session is None or user is None or not session.session_key:
        return False
    if not session.exists(session.session_key):
        return False
    return (
        get_user_model()
        .objects.filter(pk=user.pk, is_active=True, agent_profile__isnull=False)
        .exists()
    )


@database_sync_to_async
def _conversation_channel(conversation_id: int) -> int | None:
    from helpdesk.conversations.models import Conversation

    return (
        Conversation.objects.filter(pk=conversation_id).values_list("channel_id", flat=True).first()
    )


@database_sync_to_async
def _set_availability(user: Any, state: str) -> str:
    from helpdesk.console.services import agent_set_availability

    return agent_set_availability(user=user, availability=state).availability


class ConsoleConsumer(LayerEventsDispatch, AsyncJsonWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        self.user = user
        self.name = await _agent_name(user) if user is not None and user.is_authenticated else None
        if self.name is None:
            await self.close(code=4403)
            return
        if not layer_relays_across_processes():
            relay.ensure_running()  # embedded mode: forward events other processes logged
        self.log_groups = [*await _visible_groups(user), agent_group(user.pk)]
        self.visible_inboxes = {g for g in self.log_groups if g.startswith("inbox.")}
        self.memberships = SocketGroups(self.channel_layer, self.channel_name)
        await self.memberships.join(*self.log_groups)  # those that fail: retried on pings
        self.watching: int | None = None
        last_id = await _latest_event_id()
        self.cursor = LogCursor(start=last_id)
        await self.accept()
        await self.send_json({"type": "hello", "last_id": last_id})

    async def disconnect(self, code: int) -> None:
        if getattr(self, "watching", None) is not None:
            await self._presence(self.watching, "left")
        if getattr(self, "memberships", None) is not None:
            await self.memberships.leave_all()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "catch_up":
            await self._catch_up(content.get("after"))
        elif kind == "presence":
            await self._handle_presence(content)
        elif kind == "availability" and content.get("state") in {"online", "away"}:
            state = await _set_availability(self.user, content["state"])
            await self.send_json({"type": "availability", "state": state})
        elif kind == "ping":
            # The browser pings every ~25 s: a cheap moment to notice a session that ended.
            if not await _still_signed_in(self.scope):
                await self.close(code=4401)
                return
            await self.memberships.retry()
            await self._replay_missed()
            await self.send_json({"type": "pong"})

    async def _replay_missed(self) -> None:
        missed = await self.cursor.missed(self.log_groups, limit=CATCH_UP_LIMIT)
        for event in missed.events:
            await self.send_json(event)
        if missed.more:
            last_id = self.cursor.skip_to_head()
            await self.send_json({"type": "catch_up.done", "last_id": last_id, "more": True})

    async def _catch_up(self, after: Any) -> None:
        try:
            after = max(0, int(after))
        except (TypeError, ValueError):
            await self.send_json({"type": "error", "error": "catch_up needs an integer 'after'"})
            return
        events = await _events_after(self.log_groups, after)
        more = len(events) > CATCH_UP_LIMIT
        events = events[:CATCH_UP_LIMIT]
        for event in events:
            self.cursor.given(event["id"])  # asked for: sent even if it was sent live
            await self.send_json(event)
        last = events[-1]["id"] if events else after
        await self.send_json({"type": "catch_up.done", "last_id": last, "more": more})

    async def _handle_presence(self, content: dict[str, Any]) -> None:
        state = content.get("state")
        try:
            conversation_id = int(content.get("conversation_id"))
        except (TypeError, ValueError):
            return
        if state not in PRESENCE_STATES:
            return
        if conversation_id != self.watching:
            if self.watching is not None:
                await self._presence(self.watching, "left")
                await self.memberships.leave(conversation_group(self.watching))
                self.watching = None
            if state == "left":
                return
            channel_id = await _conversation_channel(conversation_id)
            if channel_id is None or inbox_group(channel_id) not in self.visible_inboxes:
                return  # not a conversation this agent may see
            self.watching = conversation_id
            await self.memberships.join(conversation_group(conversation_id))
        await self._presence(conversation_id, state)
        if state == "left":
            await self.memberships.leave(conversation_group(conversation_id))
            self.watching = None

    async def _presence(self, conversation_id: int, state: str) -> None:
        """Ephemeral: sent straight to the conversation group, never logged."""
        await send_ephemeral(
            self.channel_layer,
            conversation_group(conversation_id),
            {
                "type": "relay.presence",
                "event": {
                    "type": "presence",
                    "conversation_id": conversation_id,
                    "user_id": self.user.pk,
                    "name": self.name,
                    "state": state,
                    "sender": self.channel_name,
                },
            },
        )

    async def relay_event(self, message: dict[str, Any]) -> None:
        event = message["event"]
        if self.cursor.given(event.get("id")):  # not if a ping's catch-up sent it first
            raw = message.get("raw")  # encoded once by the sender for the whole group
            await self.send(text_data=raw) if raw else await self.send_json(event)

    async def relay_events(self, message: dict[str, Any]) -> None:
        """A batch writer's events for one group, in order (`broadcast_many_on_commit`)."""
        raws = message.get("raw") or [None] * len(message["events"])
        for event, raw in zip(message["events"], raws, strict=True):
            await self.relay_event({"event": event, "raw": raw})

    async def relay_presence(self, message: dict[str, Any]) -> None:
        event = message["event"]
        if event.get("sender") == self.channel_name:
            return
        await self.send_json({k: v for k, v in event.items() if k != "sender"})
