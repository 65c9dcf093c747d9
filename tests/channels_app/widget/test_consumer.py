from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator

from channels_app.widget.consumer import WidgetConsumer
from helpdesk.conversations.models import Message
from helpdesk.conversations.services import message_send_reply, note_create
from helpdesk.core.realtime import conversation_group
from tests.channels_app.widget.support import SHOP_ORIGIN, WidgetClient
from tests.support import factories

pytestmark = pytest.mark.django_db(transaction=True)


def run(scenario: Callable[[], Awaitable[None]]) -> None:
    async_to_sync(scenario)()


def communicator(
    channel: Any, origin: str = SHOP_ORIGIN, ip: str = "203.0.113.7"
) -> WebsocketCommunicator:
    ws = WebsocketCommunicator(
        WidgetConsumer.as_asgi(),
        f"/ws/widget/?channel={channel.public_id}",
        headers=[(b"origin", origin.encode())],
    )
    ws.scope["client"] = (ip, 50000)  # what the ASGI server puts there
    return ws


async def signed_in(
    channel: Any, token: str, ip: str = "203.0.113.7"
) -> WebsocketCommunicator:
    """A connected socket that sent its visitor token as the first message."""
    ws = communicator(channel, ip=ip)
    connected, _code = await ws.connect()
    assert connected
    await ws.send_json_to({"type": "auth", "token": token})
    return ws


async def expect(ws: WebsocketCommunicator, **fields: Any) -> dict[str, Any]:
    """The next message matching `fields` (others, e.g. the echo of the shopper's own, skipped)."""
    for _ in range(10):
        message = await ws.receive_json_from(timeout=3)
        if all(message.get(k) == v for k, v in fields.items()):
            return message
    raise AssertionError(f"no message with {fields}")


@pytest.fixture
def conversation_with_visitor(shop_channel: Any) -> tuple[WidgetClient, Any]:
    visitor = WidgetClient(shop_channel)
    visitor.start()
    visitor.send("hello")
    return visitor, Message.objects.get(text="hello").conversation


def test_consumer_refuses_other_origin(shop_channel):
    async def scenario() -> None:
        ws = communicator(shop_channel, origin="https://evil.example")
        connected, code = await ws.connect()
        assert not connected and code == 4403

    run(scenario)


def test_consumer_refuses_forged_token(shop_channel):
    async def scenario() -> None:
        ws = await signed_in(shop_channel, "forged")
        assert await ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}

    run(scenario)


def test_consumer_ignores_a_token_in_the_url(shop_channel, conversation_with_visitor):
    visitor, _ = conversation_with_visitor

    async def scenario() -> None:
        ws = WebsocketCommunicator(
            WidgetConsumer.as_asgi(),
            f"/ws/widget/?channel={shop_channel.public_id}&token={visitor.token}",
            headers=[(b"origin", SHOP_ORIGIN.encode())],
        )
        assert (await ws.connect())[0]
        await ws.send_json_to({"type": "subscribe"})  # not authenticated: refused
        assert await ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}

    run(scenario)


def test_consumer_closes_a_socket_that_never_authenticates(shop_channel, monkeypatch):
    from channels_app.widget import consumer

    monkeypatch.setattr(consumer, "AUTH_TIMEOUT", 0.05)

    async def scenario() -> None:
        ws = communicator(shop_channel)
        assert (await ws.connect())[0]
        assert await ws.receive_output(timeout=3) == {"type": "websocket.close", "code": 4403}

    run(scenario)


def test_consumer_delivers_agent_reply_but_never_notes(shop_channel, conversation_with_visitor):
    visitor, conversation = conversation_with_visitor
    agent = factories.AgentFactory()

    async def scenario() -> None:
        ws = await signed_in(shop_channel, visitor.token)
        assert await ws.receive_json_from(timeout=3) == {"type": "ready", "subscribed": True}
        await database_sync_to_async(note_create)(
            conversation=conversation, author=agent, text="secret note"
        )
        reply = await database_sync_to_async(message_send_reply)(
            conversation=conversation, author=agent, text="Your parcel left today"
        )
        event = await expect(ws, type="message", event="created")
        assert event["message_id"] == reply.pk and event["sender"] == "agent"
        assert event["conversation_id"] == conversation.pk
        assert "text" not in event  # the widget fetches text over HTTP
        await ws.disconnect()

    run(scenario)


def test_consumer_subscribe_after_first_message(shop_channel):
    visitor = WidgetClient(shop_channel)
    visitor.start()

    async def scenario() -> None:
        ws = await signed_in(shop_channel, visitor.token)
        assert await ws.receive_json_from(timeout=3) == {"type": "ready", "subscribed": False}
        await database_sync_to_async(visitor.send)("first message")
        await ws.send_json_to({"type": "subscribe"})
        assert await expect(ws, type="ready") == {"type": "ready", "subscribed": True}
        await ws.disconnect()

    run(scenario)


def test_consumer_typing_both_ways(shop_channel, conversation_with_visitor):
    visitor, conversation = conversation_with_visitor
    layer = get_channel_layer()

    async def scenario() -> None:
        agent_side = await layer.new_channel("console.")
        await layer.group_add(conversation_group(conversation.pk), agent_side)
        ws = await signed_in(shop_channel, visitor.token)
        await ws.receive_json_from(timeout=3)
        # The shopper types: the console's presence shape reaches the conversation group.
        await ws.send_json_to(
            {"type": "typing", "conversation_id": conversation.pk, "typing": True}
        )
        message = await layer.receive(agent_side)
        assert message["type"] == "relay.presence"
        assert message["event"]["state"] == "typing"
        assert message["event"]["role"] == "customer"
        assert message["event"]["customer_id"] == conversation.customer_id
        # An agent types (as the console consumer sends it): the shopper sees it.
        await layer.group_send(
            conversation_group(conversation.pk),
            {
                "type": "relay.presence",
                "event": {
                    "type": "presence",
                    "conversation_id": conversation.pk,
                    "user_id": 1,
                    "name": "Agent",
                    "state": "typing",
                    "sender": agent_side,
                },
            },
        )
        assert await expect(ws, type="typing") == {
            "type": "typing",
            "conversation_id": conversation.pk,
            "typing": True,
        }
        await ws.disconnect()

    run(scenario)


def test_consumer_ignores_typing_for_someone_elses_conversation(shop_channel):
    other = factories.ConversationFactory(channel=shop_channel)
    visitor = WidgetClient(shop_channel)
    visitor.start()
    visitor.send("hi")
    layer = get_channel_layer()

    async def scenario() -> None:
        spy = await layer.new_channel("spy.")
        await layer.group_add(conversation_group(other.pk), spy)
        ws = await signed_in(shop_channel, visitor.token)
        await ws.receive_json_from(timeout=3)
        await ws.send_json_to({"type": "typing", "conversation_id": other.pk, "typing": True})
        await ws.send_json_to({"type": "ping"})
        assert await ws.receive_json_from(timeout=3) == {"type": "pong"}
        assert await ws.receive_nothing(timeout=0.2)
        await ws.disconnect()
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await layer.receive(spy)

    run(scenario)


def test_consumer_read_marks_replies_read(shop_channel, conversation_with_visitor):
    visitor, conversation = conversation_with_visitor
    agent = factories.AgentFactory()
    reply = message_send_reply(conversation=conversation, author=agent, text="hi!")

    async def scenario() -> None:
        ws = await signed_in(shop_channel, visitor.token)
        await ws.receive_json_from(timeout=3)
        await ws.send_json_to(
            {"type": "read", "conversation_id": conversation.pk, "up_to": reply.pk}
        )
        event = await expect(ws, type="message", event="updated")
        assert event["message_id"] == reply.pk and event["status"] == "read"
        await ws.disconnect()

    run(scenario)
    reply.refresh_from_db()
    assert reply.delivery_status == "read"


def _limit(channel: Any, **limits: int) -> None:
    channel.settings["rate_limits"] = limits
    channel.save()


def test_consumer_over_the_ip_limit_closes_with_4429_and_the_wait(shop_channel):
    visitor = WidgetClient(shop_channel)
    visitor.start()
    _limit(shop_channel, socket_per_ip=2)

    async def scenario() -> None:
        for _ in range(2):
            ws = await signed_in(shop_channel, visitor.token, ip="192.0.2.30")
            assert await ws.receive_json_from(timeout=3) == {"type": "ready", "subscribed": False}
            await ws.disconnect()
        ws = communicator(shop_channel, ip="192.0.2.30")
        # Accepted first, so the browser sees the code and the reason (not a failed handshake).
        assert (await ws.connect())[0]
        closed = await ws.receive_output(timeout=3)
        assert closed["type"] == "websocket.close" and closed["code"] == 4429
        assert 1 <= int(closed["reason"]) <= 60
        await ws.send_json_to({"type": "auth", "token": visitor.token})  # ignored now
        assert await ws.receive_nothing(timeout=0.2)
        # Another address is not affected.
        other = await signed_in(shop_channel, visitor.token, ip="192.0.2.31")
        assert await other.receive_json_from(timeout=3) == {"type": "ready", "subscribed": False}
        await other.disconnect()

    run(scenario)


def test_consumer_over_the_visitor_limit_closes_after_auth(shop_channel):
    visitor = WidgetClient(shop_channel)
    visitor.start()
    neighbour = WidgetClient(shop_channel)
    neighbour.start()
    _limit(shop_channel, socket_per_visitor=1)

    async def scenario() -> None:
        ws = await signed_in(shop_channel, visitor.token, ip="192.0.2.40")
        assert await ws.receive_json_from(timeout=3) == {"type": "ready", "subscribed": False}
        await ws.disconnect()
        again = await signed_in(shop_channel, visitor.token, ip="192.0.2.41")
        closed = await again.receive_output(timeout=3)
        assert closed["type"] == "websocket.close" and closed["code"] == 4429
        other = await signed_in(shop_channel, neighbour.token, ip="192.0.2.41")
        assert await other.receive_json_from(timeout=3) == {"type": "ready", "subscribed": False}
        await other.disconnect()

    run(scenario)
