"""Receiving a Twilio message or status callback from its stored webhook (see
`channels_app.twilio.accept`): make the message, then apply opt-out keywords."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from channels_app.ingest.handlers import Unprocessable
from channels_app.models import RawInbound
from channels_app.twilio.optout import customer_opt_in, customer_opt_out, keyword_of
from channels_app.twilio.parsing import MalformedPayload, parse_inbound, parse_status
from channels_app.twilio.status import status_event_record
from helpdesk.conversations.services import InboundMessage, InboundResult, message_receive_inbound
from helpdesk.conversations.services.inbound_batch import (
    BatchItem,
    messages_receive_inbound_batch,
)
from helpdesk.inboxes.models import Channel


@transaction.atomic
def inbound_receive(
    *, channel: Channel, inbound: InboundMessage, at: datetime | None = None
) -> InboundResult:
    """Store an inbound message (idempotent on MessageSid) and apply STOP/START keywords.

    The message is stored either way, so agents see why a customer stopped replies.
    A repeated delivery changes nothing.
    """
    result = message_receive_inbound(channel=channel, inbound=inbound, at=at)
    _apply_keyword(channel, inbound, result)
    return result


def _apply_keyword(channel: Channel, inbound: InboundMessage, result: InboundResult) -> None:
    if not result.created or inbound.attachments:
        return
    customer_id = result.message.conversation.customer_id
    keyword = keyword_of(inbound.text)
    if keyword == "out":
        customer_opt_out(customer_id=customer_id, channel=channel, reason=inbound.text[:200])
    elif keyword == "in":
        customer_opt_in(customer_id=customer_id, channel=channel)


def process_message_row(row: RawInbound, channel: Channel) -> None:
    """Ingest handler: a stored inbound SMS/WhatsApp webhook -> customer message."""
    try:
        parsed = parse_inbound(channel, row.payload["params"])
    except (MalformedPayload, KeyError, TypeError) as exc:
        raise Unprocessable(str(exc)) from exc
    inbound_receive(channel=channel, inbound=parsed, at=row.received_at)


def process_message_rows(rows: list[RawInbound], channels: dict[int, Channel]) -> None:
    """Ingest batch handler: stored inbound webhooks -> customer messages, in one pass (see
    `messages_receive_inbound_batch`); raises so the processor retries the rows one by one."""
    items = []
    for row in rows:
        channel = channels[row.channel_id]
        try:
            parsed = parse_inbound(channel, row.payload["params"])
        except (MalformedPayload, KeyError, TypeError) as exc:
            raise Unprocessable(str(exc)) from exc
        items.append(BatchItem(channel=channel, inbound=parsed, at=row.received_at))
    results = messages_receive_inbound_batch(items=items)
    for item, result in zip(items, results, strict=True):
        _apply_keyword(item.channel, item.inbound, result)


def process_status_row(row: RawInbound, channel: Channel) -> None:
    """Ingest handler: a stored status callback -> forward-only delivery status."""
    try:
        params, ref = row.payload["params"], row.payload.get("m", "")
        callback = parse_status(channel, params, message_ref=ref)
    except (MalformedPayload, KeyError, TypeError) as exc:
        raise Unprocessable(str(exc)) from exc
    status_event_record(channel=channel, callback=callback)
