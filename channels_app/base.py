"""The channel adapter contract.

Inbound: an adapter parses a provider payload into the domain's `InboundMessage` and calls
`message_receive_inbound`. Outbound: `deliver(message)` hands a pending message to the provider
and records the result through `message_update_delivery_status`. An adapter must make a second
call for the same message harmless (never send twice).
"""

from __future__ import annotations

from importlib import import_module
from typing import Protocol

from helpdesk.conversations.models import Message
from helpdesk.conversations.services import InboundAttachment, InboundMessage
from helpdesk.inboxes.models import ChannelKind

__all__ = ["ADAPTERS", "ChannelAdapter", "InboundAttachment", "InboundMessage", "adapter_for"]


class ChannelAdapter(Protocol):
    def deliver(self, message: Message) -> None:
        """Send one outbound message. Must be idempotent for the same message."""


# Kind -> dotted path of the adapter object, imported on first use.
ADAPTERS: dict[str, str] = {
    ChannelKind.WEB_WIDGET: "channels_app.widget.adapter:adapter",
    ChannelKind.API: "channels_app.widget.adapter:adapter",
    ChannelKind.SMS: "channels_app.twilio.adapter:adapter",
    ChannelKind.WHATSAPP: "channels_app.twilio.adapter:adapter",
    ChannelKind.EMAIL: "channels_app.email.adapter:adapter",
}


def adapter_for(kind: str) -> ChannelAdapter:
    module_path, _, attr = ADAPTERS[kind].partition(":")
    return getattr(import_module(module_path), attr)
