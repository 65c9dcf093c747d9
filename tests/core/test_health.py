from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer
from django.utils import timezone

from helpdesk.core.models import WorkerHeartbeat
from helpdesk.core.tasks import heartbeat

pytestmark = pytest.mark.django_db


def test_healthz_reports_components(client):
    heartbeat()
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "channel_layer", "queue"}
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["channel_layer"]["status"] == "ok"
    assert body["checks"]["queue"]["worker_heartbeat"] is not None


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
