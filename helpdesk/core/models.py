from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class RealtimeEvent(models.Model):
    """Append-only log of every realtime event, written in the same transaction as the change.

    Its increasing id is the cursor browsers use to catch up after a dropped connection, and
    in embedded mode (no Redis) the web process relays rows other processes wrote, so an event
    raised in the worker still reaches the browser. Old rows are pruned by a scheduled job.
    """

    group = models.CharField(max_length=100)
    type = models.CharField(max_length=60)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("realtime event")
        indexes = [models.Index(fields=["group", "id"], name="core_event_group_id")]

    def __str__(self) -> str:
        return f"{self.id} {self.group} {self.type}"


class WorkerHeartbeat(models.Model):
    """One row per worker cluster name, touched by a scheduled job; /healthz reads its age."""

    name = models.CharField(max_length=100, unique=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"
