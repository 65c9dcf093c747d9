"""The console while Redis is down and after it comes back: sign-in, pages and the socket work,
and an open socket gets the events of the outage on its next ping. Each test runs against a
Redis of its own (fixture on_own_redis) that it stops and restarts."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.urls import reverse

from tests.browser.live import session_cookie
from tests.console.test_consumer import inbound, receive_until, run
from tests.support import factories

pytestmark = pytest.mark.django_db(transaction=True)

# channels-redis's receiver retries its connection once a second; until then live events are
# missed (and a later ping brings them).
RECONNECTED = 1.5


async def connect(cookie: tuple[str, str]) -> WebsocketCommunicator:
    """The console's socket through the whole ASGI application, signed in by cookie (pings
    check the session)."""
    from config.asgi import application

    ws = WebsocketCommunicator(
        application,
        "/ws/console/",
        headers=[
            (b"origin", b"http://localhost"),
            (b"host", b"localhost"),
            (b"cookie", f"{cookie[0]}={cookie[1]}".encode()),
        ],
    )
    connected, _ = await ws.connect(timeout=3)
    assert connected
    assert (await ws.receive_json_from(timeout=3))["type"] == "hello"
    return ws


async def ping(ws: WebsocketCommunicator) -> list[dict[str, Any]]:
    """Ping; what arrives before the pong."""
    await ws.send_json_to({"type": "ping"})
    before = []
    while (event := await ws.receive_json_from(timeout=3))["type"] != "pong":
        before.append(event)
    return before


def created(events: list[dict[str, Any]]) -> list[int]:
    return [e["message_id"] for e in events if e["type"] == "message.created"]


def test_console_sign_in_pages_and_socket_work_while_redis_is_down(client, on_own_redis):
    factories.AgentFactory(username="ola")
    channel = factories.ChannelFactory()
    on_own_redis.stop()
    credentials = {"username": "ola", "password": "pw-for-tests-1"}
    assert client.post(reverse("console:login"), credentials).status_code == 302
    assert client.get(reverse("console:inbox")).status_code == 200
    cookie = (settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value)

    async def scenario() -> list[dict]:
        ws = await connect(cookie)  # the handshake succeeds with the layer down
        started = time.monotonic()
        result = await sync_to_async(inbound)(channel, sid="down-1")
        assert time.monotonic() - started < 2  # the write did not wait for Redis
        replayed = await ping(ws)
        await ws.disconnect()
        return [*replayed, {"expected": result.message.pk}]

    events = run(scenario)
    assert created(events[:-1]) == [events[-1]["expected"]]


def test_console_socket_open_through_an_outage_catches_up_then_gets_live_events(
    agent, on_own_redis
):
    channel = factories.ChannelFactory()
    cookie = session_cookie(agent)

    async def scenario() -> tuple[list[int], list[int], list[dict], int, int]:
        ws = await connect(cookie)
        on_own_redis.stop()
        during = [
            (await sync_to_async(inbound)(channel, sid=f"out-{n}", text=f"during {n}")).message.pk
            for n in range(2)
        ]
        on_own_redis.start()  # empty: pub/sub lost whatever was sent meanwhile
        await asyncio.sleep(RECONNECTED)
        replayed = created(await ping(ws))
        again = await ping(ws)  # nothing twice
        after = (await sync_to_async(inbound)(channel, sid="back-1", text="after")).message.pk
        live = (await receive_until(ws, "message.created", timeout=3))["message_id"]
        await ws.disconnect()
        return during, replayed, again, after, live

    during, replayed, again, after, live = run(scenario)
    assert replayed == during
    assert not [e for e in again if "id" in e]
    assert live == after  # the subscription came back without a reload


def test_console_socket_opened_during_an_outage_joins_its_groups_once_redis_is_back(
    agent, on_own_redis
):
    channel = factories.ChannelFactory()
    cookie = session_cookie(agent)

    async def scenario() -> tuple[list[int], int, int]:
        on_own_redis.stop()
        ws = await connect(cookie)  # accepted though no group could be joined
        missed = (await sync_to_async(inbound)(channel, sid="o-1")).message.pk
        on_own_redis.start()
        await asyncio.sleep(RECONNECTED)
        replayed = created(await ping(ws))  # the ping also joins the groups
        after = (await sync_to_async(inbound)(channel, sid="b-1", text="after")).message.pk
        live = (await receive_until(ws, "message.created", timeout=3))["message_id"]
        await ws.disconnect()
        return [missed, *replayed], after, live

    (missed, *replayed), after, live = run(scenario)
    assert replayed == [missed]
    assert live == after
