"""Twilio jobs: scheduled retries and the sweeper for lost sends. Each takes ids, re-reads
rows and guards on state, so running one twice is harmless."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from channels_app.models import AttemptState, OutboundAttempt
from channels_app.twilio import config, errors
from channels_app.twilio.delivery import deliver
from helpdesk.conversations.models import DeliveryStatus, Message, MessageDirection
from helpdesk.conversations.services import message_update_delivery_status
from helpdesk.core.jobs import enqueue_now_rollback_unsafe

logger = logging.getLogger(__name__)

SWEEP_BATCH = 200


def retry_delivery(message_id: int) -> None:
    message = Message.objects.select_related("channel").filter(pk=message_id).first()
    if message is None:
        return
    deliver(message, retry=True)


def sweep_outbound() -> dict[str, int]:
    """Recover outbound Twilio messages that a crash or a lost job left behind.

    - `pending` with no attempt, older than the stale age: the enqueue was lost -> enqueue.
    - a claim older than the stale age: the worker died mid-send; Twilio may have the message,
      so it is failed as `interrupted` for an agent to decide (never re-sent blindly).
    - `waiting` long past its retry time: the retry schedule was lost -> run the retry.
    """
    stale = timezone.now() - timedelta(seconds=config.tunables().stale_after_seconds)
    lost = list(
        Message.objects.filter(
            direction=MessageDirection.OUTBOUND,
            delivery_status=DeliveryStatus.PENDING,
            channel__kind__in=config.TWILIO_KINDS,
            created_at__lt=stale,
            twilio_attempt__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for message_id in lost:
        enqueue_now_rollback_unsafe("channels_app.tasks.deliver_message", message_id)
    interrupted = 0
    stuck = OutboundAttempt.objects.filter(
        state=AttemptState.CLAIMED, claimed_at__lt=stale
    ).values_list("pk", flat=True)[:SWEEP_BATCH]
    for attempt_id in list(stuck):
        interrupted += _fail_interrupted(attempt_id, stale)
    overdue = list(
        OutboundAttempt.objects.filter(
            state=AttemptState.WAITING, next_attempt_at__lt=stale
        ).values_list("message_id", flat=True)[:SWEEP_BATCH]
    )
    for message_id in overdue:
        enqueue_now_rollback_unsafe("channels_app.twilio.tasks.retry_delivery", message_id)
    if lost or interrupted or overdue:
        logger.warning(
            "twilio sweep: %s re-enqueued, %s interrupted, %s overdue retries",
            len(lost),
            interrupted,
            len(overdue),
        )
    return {"enqueued": len(lost), "interrupted": interrupted, "retried": len(overdue)}


def _fail_interrupted(attempt_id: int, stale: object) -> int:
    with transaction.atomic():
        attempt = (
            OutboundAttempt.objects.select_for_update()
            .filter(pk=attempt_id, state=AttemptState.CLAIMED, claimed_at__lt=stale)
            .first()
        )
        if attempt is None:
            return 0
        attempt.state = AttemptState.FAILED
        attempt.last_error = "interrupted"
        attempt.save(update_fields=["state", "last_error", "updated_at"])
        message_update_delivery_status(
            message_id=attempt.message_id,
            status=DeliveryStatus.FAILED,
            error_code="interrupted",
            error_message=errors.reason_for("interrupted"),
        )
    return 1
