"""Per-sender sending rate, shared by every worker process through the database.

A generic cell rate algorithm (GCRA) on one `SenderPace` row per sender: `next_send_at` is when
the sender's next send is due if it sent evenly at `rate`; a send is granted while that is at
most `burst - 1` intervals ahead of now (a burst of up to one second's worth, at least one).
Taking a slot is a single conditional UPDATE, atomic on SQLite and PostgreSQL, so two workers
(or two processes of a cluster) never both take the last slot, with or without Redis; a refused
send changes nothing and learns how long to wait.
"""

from __future__ import annotations

import math
import time

from django.db import IntegrityError, transaction
from django.db.models import F, FloatField, Value
from django.db.models.functions import Greatest

from channels_app.models import SenderPace

# Float sums of intervals drift by a few ulps (an epoch time has ~0.2 us resolution): a slot due
# within 0.1 ms counts as due, so a burst of exactly `rate` is granted.
SLACK = 1e-4


def _shape(rate: float) -> tuple[float, float]:
    """(interval between sends, how far ahead of now the schedule may run)."""
    interval = 1.0 / rate
    burst = max(1, math.floor(rate))
    return interval, (burst - 1) * interval


def acquire(sender: str, *, rate: float, now: float | None = None) -> float:
    """Take one send slot for `sender`. Returns 0 when granted, else seconds to wait."""
    if rate <= 0:
        return 0.0
    now = time.time() if now is None else now
    interval, tolerance = _shape(rate)
    for _ in range(2):
        granted = SenderPace.objects.filter(
            sender=sender, next_send_at__lte=now + tolerance + SLACK
        ).update(
            next_send_at=Greatest(F("next_send_at"), Value(now, output_field=FloatField()))
            + Value(interval, output_field=FloatField())
        )
        if granted:
            return 0.0
        due = (
            SenderPace.objects.filter(sender=sender).values_list("next_send_at", flat=True).first()
        )
        if due is not None:
            return max(0.01, due - tolerance - now)
        try:
            with transaction.atomic():
                SenderPace.objects.create(sender=sender, next_send_at=now + interval)
        except IntegrityError:
            continue  # another worker created the row first: take a slot through the UPDATE
        return 0.0
    return interval
