"""Replies of one conversation reach Twilio in the order they were written.

A reply is not handed to Twilio while an earlier reply of its conversation is still unsent
(`pending`: not yet claimed, sending, or waiting for a retry). It is parked instead: its attempt
waits with reason `ordered`, and whoever moves a reply out of `pending` (sent, failed, or put
right by a status callback) releases the earliest parked reply after commit. The sweeper
re-runs a parked reply whose release was lost once its `next_attempt_at` is long past.
"""

from __future__ import annotations

from channels_app.models import AttemptState, OutboundAttempt
from helpdesk.conversations.models import DeliveryStatus, Message, MessageDirection, MessageKind
from helpdesk.core.jobs import enqueue_on_commit

ORDERED = "ordered"  # OutboundAttempt.last_error of a parked reply
RETRY_TASK = "channels_app.twilio.tasks.retry_delivery"


def earlier_reply_unsent(message: Message) -> bool:
    """True while an earlier reply of the same conversation has not left `pending`."""
    return Message.objects.filter(
        conversation_id=message.conversation_id,
        direction=MessageDirection.OUTBOUND,
        kind=MessageKind.MESSAGE,
        delivery_status=DeliveryStatus.PENDING,
        pk__lt=message.pk,
    ).exists()


def release_next_reply(*, conversation_id: int) -> None:
    """Queue the earliest parked reply of the conversation (after commit). Harmless when it is
    still blocked: its claim parks it again."""
    next_id = (
        OutboundAttempt.objects.filter(
            state=AttemptState.WAITING,
            last_error=ORDERED,
            message__conversation_id=conversation_id,
        )
        .order_by("message_id")
        .values_list("message_id", flat=True)
        .first()
    )
    if next_id is not None:
        enqueue_on_commit(RETRY_TASK, next_id)
