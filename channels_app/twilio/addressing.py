"""Who a reply goes to and the parameters of its `messages.create` call."""

from __future__ import annotations

import json
from datetime import datetime

from django.conf import settings

from channels_app.twilio import config
from helpdesk.conversations.downloads import attachment_signed_path
from helpdesk.conversations.models import AttachmentStatus, Message, MessageDirection
from helpdesk.customers.models import ContactIdentity, IdentityKind

# Inbound Twilio messages keep the sender's `From` under this content attribute.
FROM_ATTRIBUTE = "from"


def recipient(message: Message, *, as_of: datetime | None = None) -> str:
    """The address the customer last wrote from on this channel (a merged customer can have
    several numbers); with `as_of`, the one they had last written from at that time. Without
    such a message (older data, an agent-started conversation): the newest WhatsApp id on
    WhatsApp, else the newest phone number, and the other way on SMS."""
    channel = message.channel
    inbound = Message.objects.filter(
        channel_id=channel.pk,
        conversation__customer_id=message.conversation.customer_id,
        direction=MessageDirection.INBOUND,
        content_attributes__has_key=FROM_ATTRIBUTE,
    )
    if as_of is not None:
        inbound = inbound.filter(created_at__lte=as_of)
    last_from = inbound.order_by("-pk").values_list("content_attributes", flat=True).first()
    if last_from and last_from.get(FROM_ATTRIBUTE):
        return config.with_prefix(channel, str(last_from[FROM_ATTRIBUTE]))
    order = [IdentityKind.PHONE, IdentityKind.WHATSAPP]
    if config.is_whatsapp(channel):
        order.reverse()
    identities = ContactIdentity.objects.filter(
        customer_id=message.conversation.customer_id, kind__in=order
    ).order_by("-created_at", "-pk")
    if as_of is not None:
        identities = identities.filter(created_at__lte=as_of)
    addresses: dict[str, str] = {}
    for kind, address in identities.values_list("kind", "address"):
        addresses.setdefault(kind, address)
    for kind in order:
        if addresses.get(kind):
            return config.with_prefix(channel, addresses[kind])
    return ""


def message_params(message: Message) -> dict[str, object]:
    """Keyword arguments for `client.messages.create` (twilio-python names)."""
    channel = message.channel
    params: dict[str, object] = {
        "to": recipient(message),
        "status_callback": config.status_url(channel, message_id=message.pk),
    }
    if config.messaging_service_sid(channel):
        params["messaging_service_sid"] = config.messaging_service_sid(channel)
    else:
        params["from_"] = config.with_prefix(channel, config.sender(channel))
    template = (message.content_attributes or {}).get("template")
    if template:
        params["content_sid"] = template["content_sid"]
        variables = template.get("variables") or {}
        if variables:
            params["content_variables"] = json.dumps({str(k): str(v) for k, v in variables.items()})
    else:
        params["body"] = message.text
        media = media_urls(message)
        if media:
            params["media_url"] = media
    return params


def media_urls(message: Message) -> list[str]:
    """Public, signed, expiring links Twilio fetches the reply's files from (MMS/WhatsApp)."""
    stored = message.attachments.filter(status=AttachmentStatus.STORED).exclude(file="")
    return [
        f"{settings.PUBLIC_BASE_URL}{attachment_signed_path(a)}" for a in stored.order_by("pk")
    ]
