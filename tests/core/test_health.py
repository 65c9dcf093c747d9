from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer
from django.utils import timezone

from channels_app.models import RawInbound, RawInboundState
from helpdesk.core.models import WorkerHeartbeat
from helpdesk.core.tasks import heartbeat
from tests.support import factories

pytestmark = pytest.mark.django_db


def test_healthz_reports_components(client):
    heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "channel_layer", "queue", "ingest"}
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["channel_layer"]["status"] == "ok"
    assert body["checks"]["queue"]["worker_heartbeat"] is not None
    assert body["checks"]["ingest"] == {
        "status": "ok",
        "pending_due": 0,
        "oldest_due_seconds": None,
        "parked": 0,
    }


def test_healthz_stale_worker_is_degraded_not_down(client):
    WorkerHeartbeat.objects.create(name="relay", beat_at=timezone.now() - timedelta(hours=1))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["checks"]["queue"]["status"] == "degraded"


def healthz_with_layer(client, settings, layer: dict):
    """GET /healthz with another channel layer configured (and forgotten afterwards)."""
    from channels.layers import channel_layers

    settings.CHANNEL_LAYERS = {"default": layer}
    channel_layers.backends.clear()
    try:
        return client.get("/healthz")
    finally:
        channel_layers.backends.clear()


def test_healthz_unreachable_redis_is_degraded_not_down(client, settings):
    from config.settings import redis_channel_layer

    started = time.monotonic()
    response = healthz_with_layer(client, settings, redis_channel_layer("redis://127.0.0.1:1/0"))
    assert time.monotonic() - started < 2
    assert response.status_code == 200  # pages, widget and sign-in still work
    body = response.json()
    assert body["checks"]["channel_layer"] == {
        "status": "degraded",
        "error": "ChannelLayerUnavailable",
    }
    assert body["status"] == "degraded"


class HangingLayer(InMemoryChannelLayer):
    """A layer that accepts the connection and then never answers (a wedged Redis)."""

    async def receive(self, channel):
        await asyncio.sleep(3600)


def test_healthz_hanging_channel_layer_is_degraded_quickly_without_details(
    client, settings, monkeypatch
):
    from helpdesk.core import health

    monkeypatch.setattr(health, "LAYER_TIMEOUT_SECONDS", 0.2)
    response = healthz_with_layer(
        client, settings, {"BACKEND": "tests.core.test_health.HangingLayer"}
    )
    assert response.status_code == 200
    assert response.json()["checks"]["channel_layer"] == {
        "status": "degraded",
        "error": "TimeoutError",
    }


def test_healthz_layer_check_leaves_no_channel_subscribed(own_redis):
    """Pub/sub keeps a channel subscribed until told otherwise; probes must not pile up."""
    from channels.layers import channel_layers
    from django.test import override_settings

    from config.settings import redis_channel_layer
    from helpdesk.core import health

    async def probe_twice() -> tuple[int, int]:
        for _ in range(2):
            await health._layer_roundtrip()
        layer = channel_layers["default"]._get_layer()
        return len(layer.channels), len(layer._shards[0]._subscribed_to)

    with override_settings(CHANNEL_LAYERS={"default": redis_channel_layer(own_redis.url)}):
        channel_layers.backends.clear()
        try:
            assert async_to_sync(probe_twice)() == (0, 0)
        finally:
            channel_layers.backends.clear()


def stored_webhooks(count: int, *, due_ago: timedelta, state: str = RawInboundState.PENDING):
    """`count` stored webhooks that became due `due_ago` (negative: backing off until then)."""
    channel = factories.ChannelFactory(kind="sms")
    at = timezone.now() - due_ago
    start = RawInbound.objects.count()
    RawInbound.objects.bulk_create(
        RawInbound(
            channel=channel,
            kind="twilio.message",
            external_id=f"SM{start + i}",
            order_key=f"+4790000{start + i:03d}",
            payload={},
            received_at=at,
            available_at=at,
            state=state,
        )
        for i in range(count)
    )


def test_healthz_ingest_keeping_up_is_ok(client):
    """Rows that arrived a moment ago, rows backing off after a failure, and done rows are
    what a working ingest process leaves: nothing to report."""
    heartbeat()
    stored_webhooks(3, due_ago=timedelta(seconds=5))
    stored_webhooks(2, due_ago=-timedelta(seconds=30))  # retried later
    stored_webhooks(4, due_ago=timedelta(hours=2), state=RawInboundState.DONE)
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    ingest = body["checks"]["ingest"]
    assert (ingest["status"], ingest["pending_due"], ingest["parked"]) == ("ok", 3, 0)
    assert 4 <= ingest["oldest_due_seconds"] < 60
    assert body["status"] == "ok"


def test_healthz_ingest_stalled_backlog_is_degraded_not_down(client):
    """A dead or stuck ingest process: webhooks are still accepted (200 to Twilio) and pile
    up. The probe says so without taking web out of service."""
    heartbeat()
    stored_webhooks(2, due_ago=timedelta(seconds=10))
    stored_webhooks(5, due_ago=timedelta(minutes=5))
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    ingest = body["checks"]["ingest"]
    assert (ingest["status"], ingest["pending_due"], ingest["parked"]) == ("degraded", 7, 0)
    assert 300 <= ingest["oldest_due_seconds"] < 360
    assert body["status"] == "degraded"


def test_healthz_ingest_parked_rows_are_degraded(client):
    """A parked webhook is a customer message nobody sees until it is replayed in admin."""
    heartbeat()
    stored_webhooks(1, due_ago=timedelta(days=3), state=RawInboundState.PARKED)
    response = client.get("/healthz")
    assert response.status_code == 200
    ingest = response.json()["checks"]["ingest"]
    assert ingest == {
        "status": "degraded",
        "pending_due": 0,
        "oldest_due_seconds": None,
        "parked": 1,
    }


def test_healthz_query_count_does_not_grow_with_stored_webhooks(client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    heartbeat()

    def probe_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/healthz").status_code == 200
        return len(queries)

    empty = probe_queries()
    stored_webhooks(30, due_ago=timedelta(minutes=5))
    stored_webhooks(10, due_ago=timedelta(days=1), state=RawInboundState.PARKED)
    stored_webhooks(20, due_ago=timedelta(days=1), state=RawInboundState.DONE)
    assert probe_queries() == empty <= 6
