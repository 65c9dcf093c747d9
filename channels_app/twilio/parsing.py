"""Twilio webhook parameters -> provider-neutral values. Raises `MalformedPayload` with a
reason a person can read; the view answers 400 with it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from channels_app.twilio import config
from helpdesk.conversations.services import InboundAttachment, InboundMessage
from helpdesk.customers.models import IdentityKind
from helpdesk.inboxes.models import Channel

SID = re.compile(r"^[A-Z]{2}[0-9a-fA-F]{32}$")
MAX_MEDIA = 10  # Twilio sends at most 10 media per message
MAX_BODY = 20_000


class MalformedPayload(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StatusCallback:
    message_sid: str
    status: str
    error_code: str
    message_id: int | None = None  # our message, named in the per-message callback URL


def _sid(params: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = (params.get(name) or "").strip()
        if value:
            if not SID.match(value):
                raise MalformedPayload(f"{name} is not a Twilio SID.")
            return value
    raise MalformedPayload(f"{names[0]} is missing.")


def _check_account(channel: Channel, params: Mapping[str, str]) -> None:
    account = (params.get("AccountSid") or "").strip()
    if account and config.account_sid(channel) and account != config.account_sid(channel):
        raise MalformedPayload("AccountSid does not belong to this channel.")


def _float(params: Mapping[str, str], name: str) -> float:
    try:
        value = float(params[name])
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedPayload(f"{name} is not a number.") from exc
    return value


def _media(params: Mapping[str, str]) -> tuple[InboundAttachment, ...]:
    raw = (params.get("NumMedia") or "0").strip()
    if not raw.isdigit() or int(raw) > MAX_MEDIA:
        raise MalformedPayload(f"NumMedia must be a number from 0 to {MAX_MEDIA}.")
    items = []
    for n in range(int(raw)):
        url = (params.get(f"MediaUrl{n}") or "").strip()
        if not url.startswith(("https://", "http://")):
            raise MalformedPayload(f"MediaUrl{n} is missing or not a URL.")
        content_type = (params.get(f"MediaContentType{n}") or "").strip()[:100]
        items.append(InboundAttachment(content_type=content_type, source_url=url[:1000]))
    return tuple(items)


def _extras(params: Mapping[str, str]) -> dict[str, Any]:
    extras: dict[str, Any] = {}
    if params.get("ButtonPayload") or params.get("ButtonText"):
        extras["button"] = {
            "text": (params.get("ButtonText") or "")[:500],
            "payload": (params.get("ButtonPayload") or "")[:500],
        }
    if params.get("Latitude") or params.get("Longitude"):
        lat, lng = _float(params, "Latitude"), _float(params, "Longitude")
        if not (-90 <= lat <= 90 and -180 <= lng <= 180):
            raise MalformedPayload("Latitude/Longitude are out of range.")
        extras["location"] = {
            "latitude": lat,
            "longitude": lng,
            "address": (params.get("Address") or "")[:500],
            "label": (params.get("Label") or "")[:200],
        }
    replied_to = (params.get("OriginalRepliedMessageSid") or "").strip()
    if replied_to and SID.match(replied_to):
        extras["in_reply_to_sid"] = replied_to
    return extras


def _text(body: str, extras: dict[str, Any]) -> str:
    if body:
        return body
    if "button" in extras:
        return extras["button"]["text"] or extras["button"]["payload"]
    if "location" in extras:
        loc = extras["location"]
        return loc["label"] or loc["address"] or f"{loc['latitude']}, {loc['longitude']}"
    return ""


def parse_inbound(channel: Channel, params: Mapping[str, str]) -> InboundMessage:
    """An inbound SMS/WhatsApp webhook -> InboundMessage (external_id = MessageSid)."""
    _check_account(channel, params)
    message_sid = _sid(params, "MessageSid", "SmsMessageSid", "SmsSid")
    sender = (params.get("From") or "").strip()
    if not sender:
        raise MalformedPayload("From is missing.")
    whatsapp = sender.lower().startswith(config.WHATSAPP_PREFIX)
    if whatsapp != config.is_whatsapp(channel):
        raise MalformedPayload("From does not match the channel kind (SMS or WhatsApp).")
    address = (params.get("WaId") or sender) if whatsapp else sender
    if not re.search(r"\d", address):
        raise MalformedPayload("From is not a phone number.")
    body = params.get("Body") or ""
    if len(body) > MAX_BODY:
        raise MalformedPayload("Body is too long.")
    extras = _extras(params)
    # Replies go back to the address the customer last wrote from (channels_app.twilio.addressing).
    extras["from"] = sender[:100]
    attachments = _media(params)
    return InboundMessage(
        identity_kind=IdentityKind.WHATSAPP if whatsapp else IdentityKind.PHONE,
        identity_address=address,
        text=_text(body, extras),
        external_id=message_sid,
        sender_name=(params.get("ProfileName") or "")[:200],
        verified=whatsapp,  # WhatsApp authenticates the sender; SMS caller ids can be spoofed
        content_attributes=extras,
        attachments=attachments,
    )


def parse_status(
    channel: Channel, params: Mapping[str, str], *, message_ref: str = ""
) -> StatusCallback:
    """A status callback -> (MessageSid, status, error code, our message id from the URL's
    `m`). The signature covers the URL, so `m` is what we gave Twilio; a bad one is ignored."""
    _check_account(channel, params)
    message_sid = _sid(params, "MessageSid", "SmsSid")
    status = (params.get("MessageStatus") or params.get("SmsStatus") or "").strip().lower()
    if not re.match(r"^[a-z_]{2,24}$", status):
        raise MalformedPayload("MessageStatus is missing or not a status.")
    error_code = (params.get("ErrorCode") or "").strip()
    if error_code and not error_code.isdigit():
        raise MalformedPayload("ErrorCode is not a number.")
    ref = message_ref.strip()
    return StatusCallback(
        message_sid=message_sid,
        status=status,
        error_code=error_code[:20],
        message_id=int(ref) if ref.isascii() and ref.isdigit() and len(ref) < 19 else None,
    )
