"""/healthz: database, channel layer and job queue, as JSON. 200 when the web process can
serve (the database answers), 503 otherwise. A channel layer that fails (Redis down or hung)
and a stale worker heartbeat are reported as "degraded" without failing the probe, so a load
balancer keeps serving web traffic: without Redis, pages, the widget and sign-in still work and
websockets catch up from the event log."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import timedelta
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django_q.models import OrmQ

from helpdesk.core.models import WorkerHeartbeat

logger = logging.getLogger(__name__)

HEARTBEAT_STALE_AFTER = timedelta(minutes=3)


def check_database() -> dict[str, Any]:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return {
        "status": "ok",
        "vendor": connection.vendor,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }


LAYER_TIMEOUT_SECONDS = 2.0  # a layer that hangs must fail the probe, not hang it


async def _layer_roundtrip() -> None:
    layer = get_channel_layer()
    channel = ""
    try:
        async with asyncio.timeout(LAYER_TIMEOUT_SECONDS):
            channel = await layer.new_channel("healthz.")
            payload = {"type": "health.ping", "nonce": uuid.uuid4().hex}
            await layer.send(channel, payload)
            received = await layer.receive(channel)
    finally:
        # Pub/sub keeps every channel subscribed until told otherwise: one leak per probe.
        discard = getattr(layer, "discard_channel", None)
        if channel and discard is not None:
            await discard(channel)
    if received.get("nonce") != payload["nonce"]:
        raise RuntimeError("channel layer returned another message")


def check_channel_layer() -> dict[str, Any]:
    layer = get_channel_layer()
    backend = type(layer).__name__
    started = time.perf_counter()
    async_to_sync(_layer_roundtrip)()
    return {
        "status": "ok",
        "backend": backend,
        "ms": round((time.perf_counter() - started) * 1000, 1),
    }


def check_queue() -> dict[str, Any]:
    queued = OrmQ.objects.count()
    oldest = OrmQ.objects.order_by("lock", "id").values_list("lock", flat=True).first()
    beat = WorkerHeartbeat.objects.filter(name=settings.Q_CLUSTER["name"]).first()
    now = timezone.now()
    status = "ok"
    if beat is None or now - beat.beat_at > HEARTBEAT_STALE_AFTER:
        status = "degraded"
    return {
        "status": status,
        "broker": "orm",
        "queued": queued,
        "oldest_lock": oldest.isoformat() if oldest else None,
        "worker_heartbeat": beat.beat_at.isoformat() if beat else None,
    }


def _run(check: Any, *, detailed: bool, failed: str = "error") -> dict[str, Any]:
    try:
        return check()
    except Exception as exc:  # a health check reports failures, it never raises
        logger.warning("health check %s failed: %s", check.__name__, type(exc).__name__)
        # Error text can name hosts and users: only staff see it; probes get the kind.
        detail = f"{type(exc).__name__}: {exc}" if detailed else type(exc).__name__
        return {"status": failed, "error": detail[:300]}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    detailed = bool(getattr(request, "user", None) and request.user.is_staff)
    checks = {
        "database": _run(check_database, detailed=detailed),
        "channel_layer": _run(check_channel_layer, detailed=detailed, failed="degraded"),
        "queue": _run(check_queue, detailed=detailed),
    }
    failing = [name for name, result in checks.items() if result["status"] == "error"]
    overall = "error" if failing else (
        "degraded" if any(r["status"] == "degraded" for r in checks.values()) else "ok"
    )
    return JsonResponse({"status": overall, "checks": checks}, status=503 if failing else 200)
