"""The Twilio channel adapter (SMS and WhatsApp): see `delivery` for the guarantees."""

from __future__ import annotations

from channels_app.twilio import delivery
from helpdesk.conversations.models import Message


class TwilioAdapter:
    def deliver(self, message: Message) -> None:
        delivery.deliver(message)


adapter = TwilioAdapter()
