"""Status callbacks: an append-only log, and forward-only moves of our message's status."""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction

from channels_app.models import TwilioStatusEvent
from channels_app.twilio import errors
from channels_app.twilio.optout import customer_opt_out
from channels_app.twilio.parsing import StatusCallback
from helpdesk.conversations.models import DELIVERY_RANK, Message
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


def status_event_record(*, channel: Channel, callback: StatusCallback) -> bool:
    """Log one (MessageSid, status) once and apply it to our message, if we know the SID.

    Idempotent: a repeated callback returns False and changes nothing. A callback for a SID
    not yet stored (it beat the `messages.create` response) stays in the log; delivery calls
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
            customer_opt_out(customer_id=customer_id, channel=channel, reason="Twilio error 21610")
    return True


def status_events_replay(*, channel: Channel, message_id: int, message_sid: str) -> None:
    """Apply logged callbacks that arrived before we stored `message_sid` (most advanced wins;
    the forward-only rule makes the order irrelevant)."""
    logged = TwilioStatusEvent.objects.filter(channel=channel, message_sid=message_sid)
    best = None
    for event in logged:
        ours = STATUS_MAP.get(event.status)
        if ours and (best is None or DELIVERY_RANK[ours] > DELIVERY_RANK[STATUS_MAP[best.status]]):
            best = event
    if best is not None:
        _apply(message_id=message_id, status=best.status, error_code=best.error_code)


def _apply(*, message_id: int, status: str, error_code: str) -> None:
    ours = STATUS_MAP.get(status)
    if ours is None:
        logger.info("twilio status %s ignored for message %s", status, message_id)
        return
    message_update_delivery_status(
        message_id=message_id,
        status=ours,
        error_code=error_code or ("canceled" if status == "canceled" else ""),
        error_message=errors.reason_for(error_code) if error_code else "",
    )
