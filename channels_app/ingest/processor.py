"""Turning stored webhooks into domain records, in batches.

`ingest_process_batch` claims up to `limit` pending rows (`FOR UPDATE SKIP LOCKED`, so several
ingest processes on several machines share the work), processes them in one transaction and
marks them done in the same commit: a crash at any point leaves them pending, never half done
or done twice. Each row runs in its own savepoint, so one poison row fails alone: it is retried
with backoff and parked after `MAX_ATTEMPTS`, while the rest of the batch commits.

Order: rows with one `order_key` (one sender) are processed in id order. A claimed row whose
key has an earlier pending row outside this batch (held by another process, or backing off) is
left for later, so two processes never reorder one sender's messages.
"""

from __future__ import annotations

import logging
import traceback
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from channels_app.ingest.handlers import Unprocessable, batch_handler_for, handler_for
from channels_app.models import RawInbound, RawInboundState
from helpdesk.inboxes.models import Channel

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
MAX_ATTEMPTS = 5
RETRY_DELAYS = (1, 5, 30, 120)  # seconds before attempt 2, 3, 4, 5


def _claim(limit: int) -> list[RawInbound]:
    now = timezone.now()
    rows = list(
        RawInbound.objects.select_for_update(skip_locked=True)
        .filter(state=RawInboundState.PENDING, available_at__lte=now)
        .order_by("id")[:limit]
    )
    if not rows:
        return rows
    mine = {row.pk for row in rows}
    keys = {row.order_key for row in rows}
    pending = (
        RawInbound.objects.filter(
            state=RawInboundState.PENDING, order_key__in=keys, id__lte=max(mine)
        )
        .order_by("order_key", "id")
        .values_list("order_key", "id")
    )
    blocked: set[str] = set()
    allowed: set[int] = set()
    for key, row_id in pending:
        if key in blocked:
            continue
        if row_id in mine:
            allowed.add(row_id)
        else:
            blocked.add(key)  # an earlier (or interleaved) row of this sender is not ours
    return [row for row in rows if row.pk in allowed]


def _fail(row: RawInbound, exc: BaseException, *, now: datetime) -> None:
    row.attempts += 1
    row.last_error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
    if isinstance(exc, Unprocessable) or row.attempts >= MAX_ATTEMPTS:
        row.state = RawInboundState.PARKED
        logger.error("inbound row %s parked after %s attempts: %s", row.pk, row.attempts, exc)
    else:
        delay = RETRY_DELAYS[min(row.attempts, len(RETRY_DELAYS)) - 1]
        row.available_at = now + timedelta(seconds=delay)
        logger.warning("inbound row %s failed (attempt %s): %s", row.pk, row.attempts, exc)
    row.save(update_fields=["attempts", "last_error", "state", "available_at"])


def ingest_process_batch(*, limit: int = BATCH_SIZE) -> int:
    """Claim and process up to `limit` pending rows in one transaction. Returns how many rows
    were claimed (processed, retried or parked); 0 when nothing is due.

    Rows of a kind with a batch handler go through it together (in a savepoint); if that
    fails, and for other kinds, each row runs in a savepoint of its own."""
    with transaction.atomic():
        rows = _claim(limit)
        if not rows:
            return 0
        channels = Channel.objects.in_bulk({row.channel_id for row in rows})
        now = timezone.now()
        done: list[int] = []
        by_kind: dict[str, list[RawInbound]] = {}
        for row in rows:
            by_kind.setdefault(row.kind, []).append(row)
        for kind, kind_rows in by_kind.items():
            if _process_together(kind, kind_rows, channels):
                done.extend(row.pk for row in kind_rows)
                continue
            for row in kind_rows:
                try:
                    with transaction.atomic():
                        handler_for(row.kind)(row, channels[row.channel_id])
                except Exception as exc:  # one poison row must not block the batch
                    _fail(row, exc, now=now)
                else:
                    done.append(row.pk)
        if done:
            RawInbound.objects.filter(pk__in=done).update(
                state=RawInboundState.DONE, processed_at=now, last_error=""
            )
        return len(rows)


def _process_together(kind: str, rows: list[RawInbound], channels: dict[int, Channel]) -> bool:
    handler = batch_handler_for(kind)
    if handler is None:
        return False
    try:
        with transaction.atomic():
            handler(rows, channels)
    except Exception as exc:
        logger.info("ingest: a batch of %s %s rows failed (%s); row by row", len(rows), kind, exc)
        return False
    return True


def ingest_drain(*, limit: int = BATCH_SIZE, max_batches: int = 1000) -> int:
    """Process batches until nothing is due (or `max_batches`). Returns rows claimed."""
    total = 0
    for _ in range(max_batches):
        claimed = ingest_process_batch(limit=limit)
        if not claimed:
            break
        total += claimed
    return total


def process_inline_if_configured() -> None:
    """Tests (like django-q's sync mode) process what a webhook stored at once."""
    if getattr(settings, "INGEST_INLINE", False):
        ingest_drain()


@transaction.atomic
def raw_inbound_replay(*, row_ids: list[int]) -> int:
    """Put parked rows back in the queue (admin action). Returns how many moved."""
    moved = RawInbound.objects.filter(pk__in=row_ids, state=RawInboundState.PARKED).update(
        state=RawInboundState.PENDING, attempts=0, available_at=timezone.now(), last_error=""
    )
    if moved and connection.vendor == "postgresql":
        from channels_app.ingest.store import NOTIFY_CHANNEL

        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [NOTIFY_CHANNEL])
    return moved
