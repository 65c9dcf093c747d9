"""Housekeeping jobs scheduled by migrations."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from helpdesk.core.models import RealtimeEvent, WorkerHeartbeat

EVENT_RETENTION = timedelta(days=2)


def heartbeat() -> None:
    WorkerHeartbeat.objects.update_or_create(
        name=settings.Q_CLUSTER["name"], defaults={"beat_at": timezone.now()}
    )


def prune_realtime_events() -> int:
    cutoff = timezone.now() - EVENT_RETENTION
    deleted, _ = RealtimeEvent.objects.filter(created_at__lt=cutoff).delete()
    return deleted
