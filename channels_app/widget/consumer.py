"""The visitor's websocket at /ws/widget/?channel=<public_id>.

The visitor token never travels in the URL (URLs end up in proxy and access logs): the socket is
accepted for an allowed origin, and the widget's first message must be
  {"type": "auth", "token": <visitor token>}
Anything else first, a bad token, or no auth within AUTH_TIMEOUT seconds closes it with 4403,
after which the widget stops reconnecting. Too many connections from one IP address (counted
on connect) or one visitor (counted on auth) close it with 4429 and the seconds to wait as the
close reason; the widget reconnects after that.

Server -> widget (small facts; the widget fetches the text over HTTP, so a reconnect catches up
with `messages?after=<last id>` and never shows a message twice):
  {"type": "message", "event": "created" | "updated", "conversation_id", "message_id", "status"}
  {"type": "typing", "conversation_id", "typing": true | false}      an agent types
  {"type": "ready", "subscribed": true | false}

Widget -> server:
  {"type": "auth", "token": <visitor token>}             first, exactly once
  {"type": "subscribe"}                                  after the first message created a customer
  {"type": "typing", "conversation_id", "typing": bool}  the shopper types (ephemeral)
  {"type": "read", "conversation_id", "up_to": <message id>}
  {"type": "ping"}                                       -> {"type": "pong"}

Redis is optional at run time: a group join that fails is retried on each ping, and each ping
first sends the message facts logged for this visitor that the socket has not been given
(channels_app.catch_up), so a widget open through a Redis outage hears of replies within one
ping interval and fetches them as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.core.exceptions import ValidationError

from channels_app.catch_up import LogCursor
from channels_app.layer_dispatch import LayerEventsDispatch
from channels_app.socket_groups import SocketGroups, send_ephemeral
from channels_app.widget import origins, ratelimit
from channels_app.widget.identity import VisitorSession, session_customer, visitor_token_check
from channels_app.widget.services import widget_mark_read
from helpdesk.conversations.models import Conversation
from helpdesk.core import relay
from helpdesk.core.errors import DomainError
from helpdesk.core.realtime import (
    conversation_group,
    latest_event_id,
    layer_relays_across_processes,
    visitor_group,
)
from helpdesk.inboxes.models import Channel, ChannelKind

TYPING_MIN_INTERVAL = 1.0
MAX_CONVERSATIONS = 20
CLOSE_FORBIDDEN = 4403
CLOSE_RATE_LIMITED = 4429  # the close reason holds the seconds to wait
FRAMES_PER_SECOND = 10.0
FRAME_BURST = 40.0
AUTH_TIMEOUT = 10.0
CATCH_UP_LIMIT = 200


@database_sync_to_async
def _widget_channel(public_id: str, origin: str) -> Channel:
    channel = Channel.objects.filter(
        public_id=public_id, kind=ChannelKind.WEB_WIDGET, is_active=True
    ).first()
    if channel is None or not origins.origin_allowed(channel, origin):
        raise DomainError("refused", code="forbidden")
    return channel


@database_sync_to_async
def _subscription(
    channel: Channel, session: VisitorSession
) -> tuple[int | None, str, set[int]]:
    customer = session_customer(session)
    if customer is None:
        return None, "", set()
    ids = Conversation.objects.filter(channel=channel, customer=customer).order_by(
        "-last_activity_at"
    ).values_list("pk", flat=True)[:MAX_CONVERSATIONS]
    return customer.pk, customer.name or str(customer), set(ids)


@database_sync_to_async
def _owns(channel: Channel, customer_id: int, conversation_id: int) -> bool:
    return Conversation.objects.filter(
        pk=conversation_id, channel=channel, customer_id=customer_id
    ).exists()


@database_sync_to_async
def _mark_read(channel: Channel, customer_id: int, conversation_id: int, up_to: int) -> list[int]:
    from helpdesk.customers.models import Customer

    customer = Customer.objects.get(pk=customer_id)
    return widget_mark_read(
        channel=channel, customer=customer, conversation_id=conversation_id, up_to=up_to
    )


_latest_event_id = database_sync_to_async(latest_event_id)


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


_check_rate = sync_to_async(ratelimit.check_rate)


def _client_ip(scope: dict[str, Any]) -> str:
    # As for HTTP: the ASGI server (uvicorn --proxy-headers) resolved a trusted X-Forwarded-For.
    client = scope.get("client")
    return ratelimit.ip_bucket(str(client[0]) if client else "")


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class WidgetConsumer(LayerEventsDispatch, AsyncJsonWebsocketConsumer):
    customer_id: int | None = None
    customer_name = ""
    session: VisitorSession | None = None
    auth_deadline: asyncio.Task[None] | None = None
    memberships: SocketGroups | None = None
    cursor: LogCursor | None = None  # from the moment the socket listens for a customer
    refused = False  # closed for rate: what the client still sends is ignored
    frame_tokens = FRAME_BURST
    frame_checked = 0.0

    async def connect(self) -> None:
        query = parse_qs(self.scope.get("query_string", b"").decode())
        public_id = (query.get("channel") or [""])[0]
        origin = origins.normalize_origin(_header(self.scope, b"origin"))
        self.memberships = SocketGroups(self.channel_layer, self.channel_name)
        self.conversations: set[int] = set()
        self.last_typing = 0.0
        try:
            self.channel = await _widget_channel(public_id, origin)
        except (DomainError, ValueError, ValidationError):
            await self.close(code=CLOSE_FORBIDDEN)
            return
        # Accepted before a refusal for rate: a close before accepting reaches the browser as
        # a failed handshake (1006), without the code and reason the widget waits by.
        await self.accept()
        if not await self._within_rate(ip=_client_ip(self.scope)):
            return
        if not layer_relays_across_processes():
            relay.ensure_running()  # embedded mode: forward events the worker logged
        self.auth_deadline = asyncio.create_task(self._close_unless_authenticated())

    async def _within_rate(self, *, ip: str | None, visitor: str | None = None) -> bool:
        try:
            await _check_rate(channel=self.channel, action="socket", ip=ip, visitor=visitor)
        except ratelimit.RateLimited as exc:
            self.refused = True
            await self.close(code=CLOSE_RATE_LIMITED, reason=str(exc.retry_after))
            return False
        return True

    async def _close_unless_authenticated(self) -> None:
        await asyncio.sleep(AUTH_TIMEOUT)
        if self.session is None:
            await self.close(code=CLOSE_FORBIDDEN)

    async def _authenticate(self, token: Any) -> None:
        if self.auth_deadline is not None:
            self.auth_deadline.cancel()
        try:
            session = visitor_token_check(channel=self.channel, token=str(token or ""))
        except DomainError:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if not await self._within_rate(ip=None, visitor=session.scope):
            return
        self.session = session
        await self._subscribe()

    async def _subscribe(self) -> None:
        assert self.session is not None
        customer_id, name, conversations = await _subscription(self.channel, self.session)
        if customer_id is not None:
            assert self.memberships is not None
            self.customer_id = customer_id
            self.customer_name = name
            # Joins that fail (Redis down) are retried on pings.
            await self.memberships.join(
                visitor_group(customer_id), *(conversation_group(c) for c in conversations)
            )
            self.conversations |= conversations
            if self.cursor is None:  # the widget fetches what came before when it is ready
                self.cursor = LogCursor(start=await _latest_event_id())
        await self.send_json({"type": "ready", "subscribed": self.customer_id is not None})

    async def disconnect(self, code: int) -> None:
        if self.auth_deadline is not None:
            self.auth_deadline.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.auth_deadline
        if self.memberships is not None:
            await self.memberships.leave_all()

    async def _known(self, conversation_id: int | None) -> bool:
        """A conversation of this visitor on this channel (new ones are learnt on the fly)."""
        if conversation_id is None or self.customer_id is None:
            return False
        if conversation_id in self.conversations:
            return True
        if await _owns(self.channel, self.customer_id, conversation_id):
            assert self.memberships is not None
            self.conversations.add(conversation_id)
            await self.memberships.join(conversation_group(conversation_id))
            return True
        return False

    def _frame_allowed(self) -> bool:
        """A token bucket per socket: typing, read and subscribe frames cost database reads, so
        a script flooding them is cut off (a person never comes close)."""
        now = time.monotonic()
        self.frame_tokens = min(
            FRAME_BURST, self.frame_tokens + (now - self.frame_checked) * FRAMES_PER_SECOND
        )
        self.frame_checked = now
        if self.frame_tokens < 1:
            return False
        self.frame_tokens -= 1
        return True

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or self.refused:
            return
        if not self._frame_allowed():
            self.refused = True
            await self.close(code=CLOSE_RATE_LIMITED, reason="10")
            return
        kind = content.get("type")
        if self.session is None:  # the first message must authenticate
            if kind == "auth":
                await self._authenticate(content.get("token"))
            else:
                await self.close(code=CLOSE_FORBIDDEN)
            return
        if kind == "ping":
            await self._catch_up()
            await self.send_json({"type": "pong"})
        elif kind == "subscribe":
            await self._subscribe()
        elif kind == "typing":
            await self._typing(_int(content.get("conversation_id")), bool(content.get("typing")))
        elif kind == "read":
            conversation_id = _int(content.get("conversation_id"))
            up_to = _int(content.get("up_to"))
            if up_to is not None and await self._known(conversation_id):
                assert self.customer_id is not None and conversation_id is not None
                await _mark_read(self.channel, self.customer_id, conversation_id, up_to)

    async def _typing(self, conversation_id: int | None, typing: bool) -> None:
        now = time.monotonic()
        if typing and now - self.last_typing < TYPING_MIN_INTERVAL:
            return  # the agent already knows; do not flood the console
        if not await self._known(conversation_id):
            return
        self.last_typing = now if typing else 0.0
        assert conversation_id is not None
        # Ephemeral, in the console's presence shape; never logged.
        await send_ephemeral(
            self.channel_layer,
            conversation_group(conversation_id),
            {
                "type": "relay.presence",
                "event": {
                    "type": "presence",
                    "conversation_id": conversation_id,
                    "user_id": None,
                    "customer_id": self.customer_id,
                    "role": "customer",
                    "name": self.customer_name,  # the console shows "<name> is typing"
                    "state": "typing" if typing else "viewing",
                    "sender": self.channel_name,
                },
            },
        )

    async def _catch_up(self) -> None:
        if self.memberships is not None:
            await self.memberships.retry()
        if self.cursor is None or self.customer_id is None:
            return
        missed = await self.cursor.missed([visitor_group(self.customer_id)], limit=CATCH_UP_LIMIT)
        for event in missed.events:  # more than the limit: the next ping goes on
            await self._deliver(event)

    async def relay_event(self, message: dict[str, Any]) -> None:
        event = message.get("event") or {}
        if self.cursor is not None and not self.cursor.given(event.get("id")):
            return  # a ping's catch-up sent it first
        await self._deliver(event)

    async def relay_events(self, message: dict[str, Any]) -> None:
        """A batch writer's events for one group, in order (`broadcast_many_on_commit`)."""
        for event in message.get("events") or []:
            await self.relay_event({"event": event})

    async def _deliver(self, event: dict[str, Any]) -> None:
        if event.get("type") not in ("message.created", "message.updated"):
            return
        if event.get("kind") != "message":
            return  # notes and activity never reach a shopper
        if not await self._known(_int(event.get("conversation_id"))):
            return
        await self.send_json(
            {
                "type": "message",
                "event": event["type"].split(".", 1)[1],
                "conversation_id": event["conversation_id"],
                "message_id": event.get("message_id"),
                "status": event.get("delivery_status", ""),
                "sender": "you" if event.get("direction") == "inbound" else "agent",
            }
        )

    async def relay_presence(self, message: dict[str, Any]) -> None:
        event = message.get("event") or {}
        if event.get("sender") == self.channel_name or not event.get("user_id"):
            return  # only agents' typing is shown to the shopper
        conversation_id = _int(event.get("conversation_id"))
        if conversation_id not in self.conversations:
            return
        await self.send_json(
            {
                "type": "typing",
                "conversation_id": conversation_id,
                "typing": event.get("state") == "typing",
            }
        )
