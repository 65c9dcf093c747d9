from __future__ import annotations

import asyncio
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.utils import timezone

from channels_app.consumers import ConsoleConsumer
from helpdesk.conversations.services import message_receive_inbound
from helpdesk.conversations.services.inbound import InboundMessage
from helpdesk.core import relay
from helpdesk.core.models import RealtimeEvent
from helpdesk.core.realtime import broadcast_on_commit, inbox_group
from tests.support import factories

pytestmark = pytest.mark.django_db(transaction=True)


def inbound(channel: Any, text: str = "hello", sid: str = "x1", who: str = "a@example.test"):
    return message_receive_inbound(
        channel=channel,
        inbound=InboundMessage(
            identity_kind="email", identity_address=who, text=text, external_id=sid
        ),
    )


def run(scenario) -> Any:
    """Run an async scenario with a fresh relay (its task belongs to the test's loop)."""

    async def wrapped() -> Any:
        relay._task = None
        try:
            return await scenario()
        finally:
            if relay._task is not None:
                relay._task.cancel()
            relay._task = None

    return async_to_sync(wrapped)()


async def connect(user: Any) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(ConsoleConsumer.as_asgi(), "/ws/console/")
    communicator.scope["user"] = user
    connected, _ = await communicator.connect()
    assert connected
    hello = await communicator.receive_json_from()
    assert hello["type"] == "hello"
    return communicator


async def receive_until(communicator: WebsocketCommunicator, wanted: str, timeout: float = 2):
    async with asyncio.timeout(timeout):
        while True:
            event = await communicator.receive_json_from(timeout=timeout)
            if event["type"] == wanted:
                return event


def test_console_consumer_refuses_anonymous_and_non_agents():
    from django.contrib.auth.models import AnonymousUser

    plain = factories.UserFactory()

    async def scenario() -> list[bool]:
        results = []
        for user in (AnonymousUser(), plain):
            communicator = WebsocketCommunicator(ConsoleConsumer.as_asgi(), "/ws/console/")
            communicator.scope["user"] = user
            connected, _ = await communicator.connect()
            results.append(connected)
            await communicator.disconnect()
        return results

    assert run(scenario) == [False, False]


def test_console_consumer_delivers_events_of_visible_channels_only(agent):
    visible = factories.ChannelFactory(name="visible")
    hidden = factories.ChannelFactory(name="hidden", is_active=False)

    async def scenario() -> tuple[dict, list[dict]]:
        communicator = await connect(agent)
        await sync_to_async(inbound)(hidden, sid="h1", who="h@example.test")
        await sync_to_async(inbound)(visible, sid="v1")
        created = await receive_until(communicator, "message.created")
        rest = []
        while not await communicator.receive_nothing(timeout=0.3):
            rest.append(await communicator.receive_json_from())
        await communicator.disconnect()
        return created, rest

    created, rest = run(scenario)
    assert created["direction"] == "inbound" and created["id"] > 0 and created["v"] == 1
    hidden_ids = set(
        RealtimeEvent.objects.filter(group=inbox_group(hidden.pk)).values_list("id", flat=True)
    )
    assert hidden_ids and not hidden_ids & {e.get("id") for e in [created, *rest]}


def test_console_consumer_personal_notifications(agent):
    channel = factories.ChannelFactory()
    manager = factories.ManagerFactory()

    async def scenario() -> dict:
        communicator = await connect(agent)
        result = await sync_to_async(inbound)(channel)
        from helpdesk.conversations.services import conversation_assign

        await sync_to_async(conversation_assign)(
            conversation=result.message.conversation, assignee=agent, by=manager
        )
        event = await receive_until(communicator, "notification.created")
        await communicator.disconnect()
        return event

    event = run(scenario)
    assert event["kind"] == "assigned" and event["conversation_id"] > 0


def test_console_consumer_catch_up_replays_missed_events_in_order(agent):
    channel = factories.ChannelFactory()
    hidden = factories.ChannelFactory(is_active=False)
    before = inbound(channel, sid="s0").message  # noqa: F841
    start = RealtimeEvent.objects.order_by("-id").values_list("id", flat=True).first()
    # Missed while disconnected:
    inbound(channel, sid="s1", text="missed one")
    broadcast_on_commit(inbox_group(hidden.pk), {"type": "conversation.updated"})
    inbound(channel, sid="s2", text="missed two")
    expected = list(
        RealtimeEvent.objects.filter(id__gt=start, group=inbox_group(channel.pk))
        .order_by("id")
        .values_list("id", flat=True)
    )

    async def scenario() -> tuple[list[dict], dict]:
        communicator = await connect(agent)
        await communicator.send_json_to({"type": "catch_up", "after": start})
        replayed = []
        while True:
            event = await communicator.receive_json_from()
            if event["type"] == "catch_up.done":
                break
            replayed.append(event)
        await communicator.disconnect()
        return replayed, event

    replayed, done = run(scenario)
    assert [e["id"] for e in replayed] == expected
    assert done["last_id"] == expected[-1] and done["more"] is False


def test_console_consumer_catch_up_is_bounded(agent, monkeypatch):
    from channels_app import consumers

    channel = factories.ChannelFactory()
    monkeypatch.setattr(consumers, "CATCH_UP_LIMIT", 3)
    for n in range(5):
        broadcast_on_commit(inbox_group(channel.pk), {"type": "conversation.updated", "n": n})

    async def scenario() -> tuple[int, dict]:
        communicator = await connect(agent)
        await communicator.send_json_to({"type": "catch_up", "after": 0})
        count = 0
        while (event := await communicator.receive_json_from())["type"] != "catch_up.done":
            count += 1
        await communicator.disconnect()
        return count, event

    count, done = run(scenario)
    assert count == 3 and done["more"] is True


def test_console_consumer_presence_between_agents_not_logged(agent):
    other = factories.AgentFactory()
    channel = factories.ChannelFactory()
    conversation = inbound(channel).message.conversation
    logged = RealtimeEvent.objects.count()

    async def scenario() -> tuple[dict, dict]:
        a = await connect(agent)
        b = await connect(other)
        await b.send_json_to(
            {"type": "presence", "conversation_id": conversation.pk, "state": "viewing"}
        )
        await asyncio.sleep(0.05)
        await a.send_json_to(
            {"type": "presence", "conversation_id": conversation.pk, "state": "typing"}
        )
        typing = await receive_until(b, "presence")
        await a.disconnect()
        left = await receive_until(b, "presence")
        await b.disconnect()
        return typing, left

    typing, left = run(scenario)
    assert typing["state"] == "typing" and typing["user_id"] == agent.pk
    assert typing["name"] == agent.agent_profile.display_name and "sender" not in typing
    assert left["state"] == "left"
    assert RealtimeEvent.objects.count() == logged


def test_console_consumer_presence_refused_for_invisible_conversation(agent):
    other = factories.AgentFactory()
    hidden = factories.ChannelFactory(is_active=False)
    conversation = factories.ConversationFactory(channel=hidden)

    async def scenario() -> bool:
        a = await connect(agent)
        b = await connect(other)
        for c in (a, b):
            await c.send_json_to(
                {"type": "presence", "conversation_id": conversation.pk, "state": "viewing"}
            )
        nothing = await b.receive_nothing(timeout=0.3)
        await a.disconnect()
        await b.disconnect()
        return nothing

    assert run(scenario)


def test_console_consumer_sets_own_availability(agent):
    async def scenario() -> dict:
        communicator = await connect(agent)
        await communicator.send_json_to({"type": "availability", "state": "away"})
        reply = await receive_until(communicator, "availability")
        await communicator.disconnect()
        return reply

    assert run(scenario)["state"] == "away"
    agent.agent_profile.refresh_from_db()
    assert agent.agent_profile.availability == "away"


def test_console_websocket_route_authenticates_with_the_session_cookie(agent, client):
    from django.conf import settings

    from config.asgi import application

    client.force_login(agent)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"

    async def scenario() -> tuple[bool, bool]:
        headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
        anonymous = WebsocketCommunicator(application, "/ws/console/", headers=headers)
        refused, _ = await anonymous.connect()
        await anonymous.disconnect()
        signed = WebsocketCommunicator(
            application, "/ws/console/", headers=[*headers, (b"cookie", cookie.encode())]
        )
        accepted, _ = await signed.connect()
        await signed.disconnect()
        return refused, accepted

    assert run(scenario) == (False, True)


def test_console_consumer_closes_once_the_session_has_ended(agent, client):
    from django.conf import settings
    from django.contrib.sessions.models import Session

    from config.asgi import application

    client.force_login(agent)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    headers = [
        (b"origin", b"http://localhost"),
        (b"host", b"localhost"),
        (b"cookie", f"{settings.SESSION_COOKIE_NAME}={key}".encode()),
    ]

    async def scenario() -> tuple[str, dict]:
        ws = WebsocketCommunicator(application, "/ws/console/", headers=headers)
        connected, _ = await ws.connect()
        assert connected
        await receive_until(ws, "hello")
        await ws.send_json_to({"type": "ping"})
        pong = await receive_until(ws, "pong")
        await sync_to_async(Session.objects.filter(session_key=key).delete)()  # signed out
        await ws.send_json_to({"type": "ping"})
        closed = await ws.receive_output(timeout=2)
        await ws.wait()
        return pong["type"], closed

    pong, closed = run(scenario)
    assert pong == "pong"
    assert closed == {"type": "websocket.close", "code": 4401}


def test_console_consumer_gets_a_batch_writers_events_in_order(agent):
    """The ingest process writes many messages at once and publishes each group's events in one
    message (`broadcast_many_on_commit`); a console receives each event as its own frame, in
    order, once."""
    from helpdesk.conversations.services.inbound_batch import (
        BatchItem,
        messages_receive_inbound_batch,
    )
    from helpdesk.core.realtime import send_many_now_rollback_unsafe

    channel = factories.ChannelFactory()

    async def scenario() -> list[dict]:
        communicator = await connect(agent)

        def write() -> list[int]:
            items = [
                BatchItem(
                    channel=channel,
                    inbound=InboundMessage(
                        identity_kind="email",
                        identity_address=f"b{n}@example.test",
                        text=f"batch {n}",
                        external_id=f"batch-{n}",
                    ),
                    at=timezone.now(),
                )
                for n in range(3)
            ]
            results = messages_receive_inbound_batch(items=items)
            events = RealtimeEvent.objects.filter(group=inbox_group(channel.pk)).order_by("id")
            payloads = [{**e.payload, "id": e.pk} for e in events]
            # As the ingest process publishes with Redis: one message for the group. Sent twice:
            # a repeat (a ping's catch-up, a relay) must not show an event twice.
            send_many_now_rollback_unsafe({inbox_group(channel.pk): payloads})
            send_many_now_rollback_unsafe({inbox_group(channel.pk): payloads})
            return [r.message.pk for r in results]

        message_ids = await sync_to_async(write)()
        frames = []
        while not await communicator.receive_nothing(timeout=1):
            frames.append(await communicator.receive_json_from())
        await communicator.disconnect()
        created = [f["message_id"] for f in frames if f["type"] == "message.created"]
        assert created == message_ids
        return frames

    frames = run(scenario)
    ids = [f["id"] for f in frames if "id" in f]
    assert ids == sorted(set(ids))
