"""What each kind of channel can carry. The reply box and the reply service both read this."""

from __future__ import annotations

from dataclasses import dataclass

from helpdesk.inboxes.models import ChannelKind


@dataclass(frozen=True)
class ChannelLimits:
    max_text_length: int
    supports_attachments: bool
    # Free-form replies only within this many hours of the customer's last message (WhatsApp).
    reply_window_hours: int | None = None


LIMITS: dict[str, ChannelLimits] = {
    ChannelKind.SMS: ChannelLimits(max_text_length=1600, supports_attachments=True),
    ChannelKind.WHATSAPP: ChannelLimits(
        max_text_length=4096, supports_attachments=True, reply_window_hours=24
    ),
    ChannelKind.WEB_WIDGET: ChannelLimits(max_text_length=10_000, supports_attachments=True),
    ChannelKind.EMAIL: ChannelLimits(max_text_length=100_000, supports_attachments=True),
    ChannelKind.API: ChannelLimits(max_text_length=100_000, supports_attachments=True),
}


def limits_for(kind: str) -> ChannelLimits:
    return LIMITS[kind]
