from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
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


def test_healthz_broken_channel_layer_is_503(client, settings):
    response = healthz_with_layer(
        client,
        settings,
        {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        },
    )
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["channel_layer"]["status"] == "error"
    assert body["status"] == "error"


class HangingLayer(InMemoryChannelLayer):
    """A layer that accepts the connection and then never answers (a wedged Redis)."""

    async def receive(self, channel):
        await asyncio.sleep(3600)


def test_healthz_hanging_channel_layer_is_503_quickly_without_details(
    client, settings, monkeypatch
):
    from helpdesk.core import health

    monkeypatch.setattr(health, "LAYER_TIMEOUT_SECONDS", 0.2)
    response = healthz_with_layer(
        client, settings, {"BACKEND": "tests.core.test_health.HangingLayer"}
    )
    assert response.status_code == 503
    assert response.json()["checks"]["channel_layer"] == {
        "status": "error",
        "error": "TimeoutError",
    }

