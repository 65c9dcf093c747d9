"""Accepting Twilio webhooks (durable accept): signature, a parse that refuses malformed
payloads with a reason (400), one stored row, then the answer Twilio expects. Customers,
conversations and messages are made later by the ingest process (`twilio.inbound`).

Inbound messages are keyed by MessageSid (a repeat is a no-op that still answers 200) and
ordered per sender; status callbacks are keyed by (MessageSid, status) and ordered per SID.
"""

from __future__ import annotations

import logging
from uuid import UUID

from django.core.exceptions import TooManyFieldsSent
from django.http import QueryDict

from channels_app.ingest.channels import channel_for, channel_refresh
from channels_app.ingest.http import AcceptRequest, AcceptResponse, text
from channels_app.ingest.store import RawRow, raw_store_async
from channels_app.twilio import config, signature
from channels_app.twilio.parsing import MalformedPayload, parse_inbound, parse_status
from helpdesk.inboxes.models import Channel

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'
KIND_MESSAGE = "twilio.message"
KIND_STATUS = "twilio.status"


async def accept(request: AcceptRequest, *, public_id: str, kind: str) -> AcceptResponse:
    """Accept one Twilio webhook (`kind`: "inbound" or "status") for the channel `public_id`."""
    try:
        key = UUID(public_id)
    except ValueError:
        return text(404, "Unknown channel.")
    channel = await channel_for(key)
    if channel is None or channel.kind not in config.TWILIO_KINDS:
        return text(404, "Unknown channel.")
    try:
        params = request.form()
    except (TooManyFieldsSent, ValueError):
        return text(400, "The form could not be read.")
    checked = {"full_path": request.full_path(), "params": params, "headers": request.headers}
    if not signature.is_valid(channel, **checked):
        channel, fresh = await channel_refresh(key)  # the auth token may have been rotated
        if channel is None or not fresh or not signature.is_valid(channel, **checked):
            logger.warning("twilio %s: bad signature for channel %s", kind, key)
            return text(403, "Invalid Twilio signature.")
    try:
        row = _row(channel, kind, params, request)
    except MalformedPayload as exc:
        return text(400, exc.reason)
    await raw_store_async(row, native=request.native)
    if kind == "inbound":
        return AcceptResponse(200, EMPTY_TWIML, content_type="text/xml")
    return AcceptResponse(204)


def _row(channel: Channel, kind: str, params: QueryDict, request: AcceptRequest) -> RawRow:
    values = {name: params.get(name, "") for name in params}
    if kind == "inbound":
        parsed = parse_inbound(channel, values)
        sender = values.get("From", "").strip().lower()
        return RawRow(
            channel_id=channel.pk,
            kind=KIND_MESSAGE,
            external_id=parsed.external_id or "",
            order_key=f"{channel.pk}:{sender}",
            payload={"params": values},
        )
    ref = request.query().get("m", "")
    callback = parse_status(channel, values, message_ref=ref)
    return RawRow(
        channel_id=channel.pk,
        kind=KIND_STATUS,
        external_id=f"{callback.message_sid}:{callback.status}",
        order_key=f"{channel.pk}:{callback.message_sid}",
        payload={"params": values, "m": ref},
    )
