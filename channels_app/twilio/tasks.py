"""Twilio jobs: scheduled retries and the sweeper for lost sends. Each takes ids, re-reads
rows and guards on state, so running one twice is harmless."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from channels_app.models import AttemptState, OutboundAttempt
from channels_app.twilio import config, errors, reconcile
from channels_app.twilio.delivery import deliver
from channels_app.twilio.ordering import RETRY_TASK, release_next_reply
from channels_app.twilio.status import status_events_replay
from helpdesk.conversations.models import DeliveryStatus, Message, MessageDirection
from helpdesk.conversations.services import message_update_delivery_status
from helpdesk.core.jobs import enqueue_now_rollback_unsafe

logger = logging.getLogger(__name__)

SWEEP_BATCH = 200
RECONCILE_TASK = "channels_app.twilio.tasks.reconcile_delivery"


def retry_delivery(message_id: int) -> None:
    message = Message.objects.select_related("channel").filter(pk=message_id).first()
    if message is None:
        return
    deliver(message, retry=True)


def reconcile_delivery(message_id: int) -> str:
    """Settle a stale send claim against Twilio (`channels_app.twilio.reconcile`)."""
    return reconcile.reconcile_delivery(message_id=message_id)


def sweep_outbound() -> dict[str, int]:
    """Recover outbound Twilio messages that a crash or a lost job left behind.

    - `pending` with no attempt, older than the stale age: the enqueue was lost -> enqueue.
    - a claim older than the stale age: its job is dead (killed mid-send, or the outcome of
      its send was unknown) -> a reconciliation job asks Twilio whether the message exists and
      links it or sends it again (`reconcile`); a status callback may put it right first.
    - `waiting` long past its retry time: the retry schedule was lost -> run the retry.
    - a closed attempt whose message is still `pending` (left by a crash before recording
      became one transaction) -> the message takes the attempt's outcome.
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
    stuck = list(
        OutboundAttempt.objects.filter(
            state=AttemptState.CLAIMED,
            claimed_at__lt=stale,
            message__delivery_status=DeliveryStatus.PENDING,
        )
        .order_by("message_id")
        .values_list("message_id", flat=True)[:SWEEP_BATCH]
    )
    for message_id in stuck:
        enqueue_now_rollback_unsafe(RECONCILE_TASK, message_id)
    overdue = list(
        OutboundAttempt.objects.filter(
            state=AttemptState.WAITING, next_attempt_at__lt=stale
        ).values_list("message_id", flat=True)[:SWEEP_BATCH]
    )
    for message_id in overdue:
        enqueue_now_rollback_unsafe(RETRY_TASK, message_id)
    half_recorded = list(
        OutboundAttempt.objects.filter(
            state__in=[AttemptState.DONE, AttemptState.FAILED],
            message__delivery_status=DeliveryStatus.PENDING,
        ).values_list("message_id", flat=True)[:SWEEP_BATCH]
    )
    repaired = sum(_repair_half_recorded(message_id) for message_id in half_recorded)
    if lost or stuck or overdue or repaired:
        logger.warning(
            "twilio sweep: %s re-enqueued, %s stale claims to reconcile, %s overdue retries, "
            "%s repaired",
            len(lost),
            len(stuck),
            len(overdue),
            repaired,
        )
    return {
        "enqueued": len(lost),
        "reconciled": len(stuck),
        "retried": len(overdue),
        "repaired": repaired,
    }


@transaction.atomic
def _repair_half_recorded(message_id: int) -> int:
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("channel")
        .filter(pk=message_id, delivery_status=DeliveryStatus.PENDING)
        .first()
    )
    attempt = OutboundAttempt.objects.filter(message_id=message_id).first()
    if message is None or attempt is None:
        return 0
    if attempt.state == AttemptState.DONE:
        sid = attempt.provider_sid or None
        message_update_delivery_status(
            message_id=message_id, status=DeliveryStatus.QUEUED, external_id=sid
        )
        if sid:
            status_events_replay(channel=message.channel, message_id=message_id, message_sid=sid)
    elif attempt.state == AttemptState.FAILED:
        code = attempt.last_error or "interrupted"
        message_update_delivery_status(
            message_id=message_id,
            status=DeliveryStatus.FAILED,
            error_code=code,
            error_message=errors.reason_for(code),
        )
    else:
        return 0
    release_next_reply(conversation_id=message.conversation_id)
    return 1
