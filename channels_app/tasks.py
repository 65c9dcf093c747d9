"""Background jobs for channels: each takes ids, re-reads rows, guards on state, calls one
adapter or service. Running a job twice is harmless."""

from __future__ import annotations

import logging

from channels_app.base import adapter_for
from helpdesk.conversations.models import DeliveryStatus, Message

logger = logging.getLogger(__name__)


def deliver_message(message_id: int) -> None:
    message = (
        Message.objects.select_related("channel", "conversation__customer")
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        logger.warning("deliver_message: message %s is gone", message_id)
        return
    if message.delivery_status != DeliveryStatus.PENDING:
        return  # already handed to the provider (or final): never send twice
    adapter_for(message.channel.kind).deliver(message)


def fetch_attachment(attachment_id: int) -> None:
    from channels_app import media

    media.fetch_attachment(attachment_id)


def sweep_attachments() -> int:
    """Scheduled: fail attachments stuck "fetching" (their fetch job was killed or lost)."""
    from channels_app import media

    return media.attachments_fail_stale()
