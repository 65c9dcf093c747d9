"""Receiving a Twilio message: store it, then apply opt-out keywords."""

from __future__ import annotations

from django.db import transaction

from channels_app.twilio.optout import customer_opt_in, customer_opt_out, keyword_of
from helpdesk.conversations.services import InboundMessage, InboundResult, message_receive_inbound
from helpdesk.inboxes.models import Channel


@transaction.atomic
def inbound_receive(*, channel: Channel, inbound: InboundMessage) -> InboundResult:
    """Store an inbound message (idempotent on MessageSid) and apply STOP/START keywords.

    The message is stored either way, so agents see why a customer stopped replies.
    A repeated delivery changes nothing.
    """
    result = message_receive_inbound(channel=channel, inbound=inbound)
    if not result.created or inbound.attachments:
        return result
    customer_id = result.message.conversation.customer_id
    keyword = keyword_of(inbound.text)
    if keyword == "out":
        customer_opt_out(customer_id=customer_id, channel=channel, reason=inbound.text[:200])
    elif keyword == "in":
        customer_opt_in(customer_id=customer_id, channel=channel)
    return result
