"""Widget (and API) delivery: the message is already in our database and the visitor's open
widget received the `message.created` event after commit, so handing over means `sent`.
The widget reports `delivered`/`read` itself."""

from __future__ import annotations

from helpdesk.conversations.models import DeliveryStatus, Message
from helpdesk.conversations.services import message_update_delivery_status


class WidgetAdapter:
    def deliver(self, message: Message) -> None:
        message_update_delivery_status(message_id=message.pk, status=DeliveryStatus.SENT)


adapter = WidgetAdapter()
