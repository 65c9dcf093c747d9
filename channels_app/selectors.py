"""Reads over the channel models that are more than a `get`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Min, Q

from channels_app.models import RawInbound, RawInboundState


@dataclass(frozen=True)
class IngestBacklog:
    pending_due: int  # stored webhooks waiting for the ingest process, due now
    oldest_due_at: datetime | None  # when the one due longest became due
    parked: int  # given up after repeated failures, until replayed in admin


def raw_inbound_backlog(*, now: datetime) -> IngestBacklog:
    """What the ingest process has left waiting, in one query over the partial indexes on
    pending and parked rows (the done rows, most of the table, are never read). Rows backing
    off after a failure are not due yet. Waiting time counts from `available_at`: when a row
    arrived, or when its backoff ended."""
    due = Q(state=RawInboundState.PENDING, available_at__lte=now)
    parked = Q(state=RawInboundState.PARKED)
    counts = RawInbound.objects.filter(Q(state=RawInboundState.PENDING) | parked).aggregate(
        pending_due=Count("id", filter=due),
        oldest_due_at=Min("available_at", filter=due),
        parked=Count("id", filter=parked),
    )
    return IngestBacklog(**counts)
