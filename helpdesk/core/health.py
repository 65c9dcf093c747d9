"""/healthz: database, channel layer, job queue and webhook ingest, as JSON. 200 when the web
process can serve (the database answers), 503 otherwise. A channel layer that fails (Redis down
or hung), a stale worker heartbeat and stored webhooks that the ingest process leaves waiting
(or has parked) are reported as "degraded" without failing the probe, so a load balancer keeps
serving web traffic: without Redis, pages, the widget and sign-in still work and websockets
catch up from the event log; webhooks are still accepted and stored while ingest is down."""

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

from channels_app.selectors import raw_inbound_backlog
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


# A working ingest process takes a stored webhook within a fraction of a second (it is woken
# by NOTIFY, or polls every 0.1 s on SQLite); a minute means it is down, stuck or far behind.
INGEST_STALE_AFTER = timedelta(seconds=60)


def check_ingest() -> dict[str, Any]:
    """Stored webhooks (durable accept) the ingest process has not turned into messages yet:
    how many are due, how long the one due longest has waited, and how many are parked. One
    query (channels_app.selectors.raw_inbound_backlog)."""
    now = timezone.now()
    backlog = raw_inbound_backlog(now=now)
    waited = (now - backlog.oldest_due_at).total_seconds() if backlog.oldest_due_at else None
    stale = waited is not None and waited > INGEST_STALE_AFTER.total_seconds()
    return {
        "status": "degraded" if stale or backlog.parked else "ok",
        "pending_due": backlog.pending_due,
        "oldest_due_seconds": round(waited, 1) if waited is not None else None,
        "parked": backlog.parked,
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
        "ingest": _run(check_ingest, detailed=detailed, failed="degraded"),
    }
    failing = [name for name, result in checks.items() if result["status"] == "error"]
    overall = "error" if failing else (
        "degraded" if any(r["status"] == "degraded" for r in checks.values()) else "ok"
    )
    return JsonResponse({"status": overall, "checks": checks}, status=503 if failing else 200)
