from __future__ import annotations

import asyncio
import time

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction

from helpdesk.core import relay
from helpdesk.core.models import RealtimeEvent
from helpdesk.core.realtime import broadcast_on_commit


@pytest.mark.django_db
def test_broadcast_on_commit_records_and_waits_for_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        event = broadcast_on_commit("inbox.1", {"type": "conversation.updated", "x": 1})
    assert event["id"] and event["v"] == 1
    assert RealtimeEvent.objects.filter(pk=event["id"], group="inbox.1").exists()
    assert len(callbacks) == 1


@pytest.mark.django_db
def test_broadcast_on_commit_rejects_bad_payloads():
    with pytest.raises(ValueError):
        broadcast_on_commit("inbox.1", {"no": "type"})
    with pytest.raises(TypeError):
        broadcast_on_commit("inbox.1", {"type": "x", "when": object()})


@pytest.mark.django_db(transaction=True)
def test_broadcast_on_commit_rolled_back_event_is_never_sent():
    def write() -> None:
        with pytest.raises(RuntimeError), transaction.atomic():
            broadcast_on_commit("inbox.42", {"type": "message.created", "message_id": 6})
            raise RuntimeError("rollback")
        broadcast_on_commit("inbox.42", {"type": "message.created", "message_id": 7})

    async def scenario() -> dict:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("inbox.42", channel)
        await asyncio.sleep(0.05)
        await sync_to_async(write)()
        return await asyncio.wait_for(layer.receive(channel), 2)

    message = async_to_sync(scenario)()
    assert message["event"]["message_id"] == 7  # the rolled-back event never arrived first
    assert list(RealtimeEvent.objects.values_list("payload__message_id", flat=True)) == [7]


@pytest.mark.django_db(transaction=True)
def test_relay_forwards_events_written_by_another_process():
    """Embedded mode: a row another process wrote (no local send) reaches local listeners."""

    async def scenario() -> dict:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        await layer.group_add("inbox.7", channel)
        relay._task = None
        relay.ensure_running()
        await asyncio.sleep(0.3)  # the relay has taken its starting point
        # As the worker would: a row in the log, no send to this process's layer.
        await sync_to_async(RealtimeEvent.objects.create)(
            group="inbox.7", type="message.created", payload={"type": "message.created", "v": 1}
        )
        try:
            return await asyncio.wait_for(layer.receive(channel), 2)
        finally:
            relay._task.cancel()

    message = async_to_sync(scenario)()
    assert message["event"]["type"] == "message.created"
    assert message["event"]["id"] > 0


def test_send_now_rollback_unsafe_gives_up_quickly_on_a_frozen_redis(own_redis, caplog):
    """The request that raised the event must not hang on the channel layer."""
    from channels.layers import channel_layers
    from django.test import override_settings

    from config.settings import redis_channel_layer
    from helpdesk.core import outage_log
    from helpdesk.core.realtime import send_now_rollback_unsafe

    outage_log._last.clear()
    with override_settings(CHANNEL_LAYERS={"default": redis_channel_layer(own_redis.url)}):
        channel_layers.backends.clear()
        try:
            own_redis.freeze()
            timings = []
            for event_id in (1, 2, 3):
                started = time.monotonic()
                event = {"type": "conversation.updated", "id": event_id}
                send_now_rollback_unsafe("inbox.1", event)
                timings.append(time.monotonic() - started)
        finally:
            own_redis.thaw()
            channel_layers.backends.clear()
    assert timings[0] < 1.5
    assert max(timings[1:]) < 0.1  # not asked again right after a failure
    assert [r.name for r in caplog.records if r.levelname == "WARNING"].count(
        "helpdesk.core.realtime"
    ) == 1
