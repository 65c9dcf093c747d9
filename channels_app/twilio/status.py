"""Status callbacks: an append-only log, and forward-only moves of our message's status."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from channels_app.models import AttemptState, OutboundAttempt, TwilioStatusEvent
from channels_app.twilio import errors
from channels_app.twilio.optout import customer_opt_out
from channels_app.twilio.ordering import release_next_reply
from channels_app.twilio.parsing import StatusCallback
from helpdesk.conversations.models import (
    DELIVERY_RANK,
    DeliveryStatus,
    Message,
    MessageDirection,
)
from helpdesk.conversations.services import message_update_delivery_status
from helpdesk.inboxes.models import Channel

logger = logging.getLogger(__name__)

# Twilio's message statuses -> ours. Unknown statuses are logged and change nothing.
STATUS_MAP: dict[str, str] = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "delivered": "delivered",
    "partially_delivered": "delivered",
    "read": "read",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "failed",
}
OPT_OUT_REASON = "Twilio error 21610"


@transaction.atomic
def status_event_record(*, channel: Channel, callback: StatusCallback) -> bool:
    """Log one (MessageSid, status) once and apply it to our message, in one transaction: if
    applying fails, the log row goes too and Twilio's retry is not mistaken for a repeat.

    Idempotent: a repeated callback returns False and changes nothing. A callback for a SID
    we have not stored is linked to the message its URL names (`?m=`) when that send's outcome
    is unknown (see `_link`); otherwise it stays in the log, and delivery calls
    `status_events_replay` once it stores the SID.
    """
    try:
        with transaction.atomic():
            TwilioStatusEvent.objects.create(
                channel=channel,
                message_sid=callback.message_sid,
                status=callback.status,
                error_code=callback.error_code,
            )
    except IntegrityError:
        return False
    found = (
        Message.objects.filter(channel=channel, external_id=callback.message_sid)
        .values_list("pk", "conversation__customer_id")
        .first()
    )
    if found is not None:
        message_id, customer_id = found
        _apply(message_id=message_id, status=callback.status, error_code=callback.error_code)
        if callback.error_code == str(errors.OPT_OUT_CODE):
            customer_opt_out(customer_id=customer_id, channel=channel, reason=OPT_OUT_REASON)
    elif callback.message_id is not None and _link(
        channel=channel, message_id=callback.message_id, message_sid=callback.message_sid
    ):
        status_events_replay(
            channel=channel, message_id=callback.message_id, message_sid=callback.message_sid
        )
    return True


def status_events_replay(*, channel: Channel, message_id: int, message_sid: str) -> None:
    """Apply logged callbacks for `message_sid` to our message (most advanced wins; the
    forward-only rule makes the order irrelevant), including an opt-out (error 21610)."""
    logged = list(TwilioStatusEvent.objects.filter(channel=channel, message_sid=message_sid))
    best = None
    for event in logged:
        ours = STATUS_MAP.get(event.status)
        if ours and (best is None or DELIVERY_RANK[ours] > DELIVERY_RANK[STATUS_MAP[best.status]]):
            best = event
    if best is not None:
        _apply(message_id=message_id, status=best.status, error_code=best.error_code)
    if any(event.error_code == str(errors.OPT_OUT_CODE) for event in logged):
        customer_id = (
            Message.objects.filter(pk=message_id)
            .values_list("conversation__customer_id", flat=True)
            .get()
        )
        customer_opt_out(customer_id=customer_id, channel=channel, reason=OPT_OUT_REASON)


def _link(*, channel: Channel, message_id: int, message_sid: str) -> bool:
    """Store `message_sid` on our message `message_id` if that send's outcome was never
    recorded: still claimed (the worker died, waits for Twilio's answer, or never saw it) or
    failed with our own provisional code (`ambiguous`, `interrupted`). A real failure, a
    message that was never claimed, or one with another SID is left alone. Caller holds a
    transaction."""
    message = (
        Message.objects.select_for_update()
        .filter(pk=message_id, channel=channel, direction=MessageDirection.OUTBOUND)
        .first()
    )
    if message is None or message.external_id:
        return False
    attempt = OutboundAttempt.objects.select_for_update().filter(message=message).first()
    in_flight = (
        message.delivery_status == DeliveryStatus.PENDING
        and attempt is not None
        and attempt.state == AttemptState.CLAIMED
    )
    provisional = (
        message.delivery_status == DeliveryStatus.FAILED
        and message.error_code in errors.PROVISIONAL_FAILURE_CODES
    )
    if not (in_flight or provisional):
        logger.warning("twilio status: callback names message %s, not linked", message_id)
        return False
    if attempt is not None:
        attempt.state = AttemptState.DONE
        attempt.provider_sid = message_sid
        attempt.save(update_fields=["state", "provider_sid", "updated_at"])
    message_update_delivery_status(
        message_id=message.pk,
        status=DeliveryStatus.QUEUED,
        external_id=message_sid,
        replaces_failures=errors.PROVISIONAL_FAILURE_CODES,
    )
    if in_flight:
        release_next_reply(conversation_id=message.conversation_id)
    logger.info("twilio status: linked a callback to message %s", message_id)
    return True


def _apply(*, message_id: int, status: str, error_code: str) -> None:
    ours = STATUS_MAP.get(status)
    if ours is None:
        logger.info("twilio status %s ignored for message %s", status, message_id)
        return
    code = error_code or ("canceled" if status == "canceled" else "")
    message_update_delivery_status(
        message_id=message_id,
        status=ours,
        error_code=code,
        error_message=errors.reason_for(code) if code else "",
        replaces_failures=errors.PROVISIONAL_FAILURE_CODES,
    )
