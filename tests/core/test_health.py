from __future__ import annotations

from datetime import timedelta

import pytest
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


def test_healthz_broken_channel_layer_is_503(client, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": ["redis://127.0.0.1:1/0"]},
        }
    }
    from channels.layers import channel_layers

    channel_layers.backends.clear()
    try:
        response = client.get("/healthz")
    finally:
        channel_layers.backends.clear()
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["channel_layer"]["status"] == "error"
    assert body["status"] == "error"
