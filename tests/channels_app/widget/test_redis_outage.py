"""The widget while Redis is down and after it comes back (a Redis of the test's own)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator

from helpdesk.conversations.models import Message
from helpdesk.conversations.services import message_send_reply
from tests.channels_app.widget.support import WidgetClient
from tests.channels_app.widget.test_consumer import expect, signed_in
from tests.support import factories

pytestmark = pytest.mark.django_db


def test_widget_session_and_its_rate_limit_work_while_redis_is_down(shop_channel, own_redis_cache):
    shop_channel.settings["rate_limits"] = {"session_per_ip": 2}
    shop_channel.save()
    own_redis_cache.stop()
    shoppers = [WidgetClient(shop_channel) for _ in range(3)]
    assert [s.start().status_code for s in shoppers] == [200, 200, 429]
    assert shoppers[0].send("Is my parcel on its way?").status_code in (200, 201)


# channels-redis's receiver retries its connection once a second; until then live events are
# missed (and a later ping brings them).
RECONNECTED = 1.5


async def ping(ws: WebsocketCommunicator) -> list[dict[str, Any]]:
    """Ping; what arrives before the pong."""
    await ws.send_json_to({"type": "ping"})
    before = []
    while (message := await ws.receive_json_from(timeout=3))["type"] != "pong":
        before.append(message)
    return before


def replies(messages: list[dict[str, Any]]) -> list[int]:
    return [
        m["message_id"]
        for m in messages
        if m["type"] == "message" and m["event"] == "created" and m["sender"] == "agent"
    ]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("opened", ["before the outage", "during the outage"])
def test_widget_socket_hears_of_replies_from_an_outage_on_ping_then_live(
    shop_channel, on_own_redis, opened
):
    visitor = WidgetClient(shop_channel)
    visitor.start()
    visitor.send("hello")
    conversation = Message.objects.get(text="hello").conversation
    agent = factories.AgentFactory()

    def reply(text: str) -> int:
        return message_send_reply(conversation=conversation, author=agent, text=text).pk

    async def scenario() -> tuple[list[int], list[int], int, int]:
        if opened == "during the outage":
            on_own_redis.stop()
        ws = await signed_in(shop_channel, visitor.token)
        assert await ws.receive_json_from(timeout=3) == {"type": "ready", "subscribed": True}
        on_own_redis.stop()
        during = [await database_sync_to_async(reply)(f"During {n}") for n in range(2)]
        on_own_redis.start()
        await asyncio.sleep(RECONNECTED)
        replayed = replies(await ping(ws))
        after = await database_sync_to_async(reply)("After")
        live = await expect(ws, type="message", event="created", sender="agent")
        await ws.disconnect()
        return during, replayed, after, live["message_id"]

    during, replayed, after, live = async_to_sync(scenario)()
    assert replayed == during
    assert live == after
