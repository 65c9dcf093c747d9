"""Turning stored webhooks into domain records, in batches.

`ingest_process_batch` claims up to `limit` pending rows (`FOR UPDATE SKIP LOCKED`, so several
ingest processes on several machines share the work), processes them in one transaction and
marks them done in the same commit: a crash at any point leaves them pending, never half done
or done twice. Each row runs in its own savepoint, so one poison row fails alone: it is retried
with backoff and parked after `MAX_ATTEMPTS`, while the rest of the batch commits.

Order: rows with one `order_key` (one sender) are processed in id order. A claimed row whose
key has an earlier pending row outside this batch (held by another process, or backing off) is
left for later, so two processes never reorder one sender's messages. Ids follow the order the
web processes stored the rows in; two rows of one sender stored by two concurrent statements
within the same few milliseconds can commit out of id order (a rare, brief window).
"""

from __future__ import annotations

import logging
import traceback
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.db.models.functions import Now
from django.utils import timezone

from channels_app.ingest.handlers import Unprocessable, batch_handler_for, handler_for
from channels_app.models import RawInbound, RawInboundState
from helpdesk.inboxes.models import Channel

logger = logging.getLogger(__name__)

BATCH_SIZE = 100
MAX_ATTEMPTS = 5
RETRY_DELAYS = (1, 5, 30, 120)  # seconds before attempt 2, 3, 4, 5


def _claim(limit: int, *, only: int | None = None) -> list[RawInbound]:
    # Rows of a sender whose earlier row is backing off wait for it (in SQL, so they never
    # fill a batch that then processes nothing). Times are the database's, like `available_at`.
    waiting_earlier = RawInbound.objects.filter(
        state=RawInboundState.PENDING,
        order_key=OuterRef("order_key"),
        id__lt=OuterRef("id"),
        available_at__gt=Now(),
    )
    due = RawInbound.objects.filter(state=RawInboundState.PENDING, available_at__lte=Now())
    if only is not None:
        due = due.filter(pk=only)
    rows = list(
        due.filter(~Exists(waiting_earlier))
        .select_for_update(skip_locked=True)
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
    """Count a failed attempt: back off, or park. The error is kept on the row for managers
    (admin); logs name only its type, since database errors quote the values they refused."""
    row.attempts += 1
    row.last_error = "".join(traceback.format_exception_only(exc)).strip()[:2000]
    if isinstance(exc, Unprocessable) or row.attempts >= MAX_ATTEMPTS:
        row.state = RawInboundState.PARKED
        logger.error(
            "inbound row %s parked after %s attempts (%s)", row.pk, row.attempts, type(exc).__name__
        )
    else:
        delay = RETRY_DELAYS[min(row.attempts, len(RETRY_DELAYS)) - 1]
        row.available_at = now + timedelta(seconds=delay)
        logger.warning(
            "inbound row %s failed, attempt %s (%s)", row.pk, row.attempts, type(exc).__name__
        )
    row.save(update_fields=["attempts", "last_error", "state", "available_at"])


def ingest_process_batch(*, limit: int = BATCH_SIZE) -> int:
    """Claim and process up to `limit` pending rows in one transaction. Returns how many rows
    were claimed (processed, retried or parked); 0 when nothing is due.

    Rows of a kind with a batch handler go through it together (in a savepoint); if that
    fails, and for other kinds, each row runs in a savepoint of its own, and a sender whose row
    failed keeps its later rows for after the retry. If the batch's transaction fails as a
    whole, its rows are processed one per transaction, so a row that breaks a transaction is
    counted (and eventually parked) alone."""
    claimed: list[int] = []
    try:
        return _process(limit, claimed)
    except Exception:
        if not claimed:
            raise
        logger.warning("ingest: a batch of %s rows failed as a whole; one by one", len(claimed))
        for row_id in claimed:
            try:
                _process(1, [], only=row_id)
            except Exception as exc:
                _count_failure(row_id, exc)
        return len(claimed)


def _process(limit: int, claimed: list[int], *, only: int | None = None) -> int:
    with transaction.atomic():
        rows = _claim(limit, only=only)
        claimed.extend(row.pk for row in rows)
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
            failed_keys: set[str] = set()
            for row in kind_rows:
                if row.order_key in failed_keys:
                    continue  # after its sender's failed row: stays pending, in order
                try:
                    with transaction.atomic():
                        handler_for(row.kind)(row, channels[row.channel_id])
                except Exception as exc:  # one poison row must not block the batch
                    _fail(row, exc, now=now)
                    if row.state == RawInboundState.PENDING:
                        failed_keys.add(row.order_key)
                else:
                    done.append(row.pk)
        if done:
            RawInbound.objects.filter(pk__in=done).update(
                state=RawInboundState.DONE, processed_at=now, last_error=""
            )
        return len(rows)


@transaction.atomic
def _count_failure(row_id: int, exc: BaseException) -> None:
    row = RawInbound.objects.select_for_update().filter(pk=row_id).first()
    if row is not None and row.state == RawInboundState.PENDING:
        _fail(row, exc, now=timezone.now())


def _process_together(kind: str, rows: list[RawInbound], channels: dict[int, Channel]) -> bool:
    handler = batch_handler_for(kind)
    if handler is None:
        return False
    try:
        with transaction.atomic():
            handler(rows, channels)
    except Exception as exc:
        logger.info(
            "ingest: a batch of %s %s rows failed (%s); row by row",
            len(rows),
            kind,
            type(exc).__name__,
        )
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
