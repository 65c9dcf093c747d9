"""Email delivery arrives with the email channel. Until then an email reply fails visibly
instead of waiting forever."""

from __future__ import annotations

from helpdesk.conversations.models import DeliveryStatus, Message
from helpdesk.conversations.services import message_update_delivery_status


class EmailAdapter:
    def deliver(self, message: Message) -> None:
        message_update_delivery_status(
            message_id=message.pk,
            status=DeliveryStatus.FAILED,
            error_code="not_configured",
            error_message="Email delivery is not configured yet.",
        )


adapter = EmailAdapter()
