"""Background jobs for channels: each takes ids, re-reads rows, guards on state, calls one
adapter or service. Running a job twice is harmless."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.utils import timezone

from channels_app.base import adapter_for
from channels_app.models import RawInbound, RawInboundState
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


# Processed webhooks are kept a week for tracing; parked ones a month for a manager to replay.
RAW_DONE_RETENTION_DAYS = 7
RAW_PARKED_RETENTION_DAYS = 30


def prune_raw_inbound() -> int:
    """Scheduled hourly: delete stored webhooks past their retention (they hold personal
    data). Deletes in chunks so a large backlog never holds a long transaction."""
    now = timezone.now()
    deleted = 0
    for state, days, field in (
        (RawInboundState.DONE, RAW_DONE_RETENTION_DAYS, "processed_at__lt"),
        (RawInboundState.PARKED, RAW_PARKED_RETENTION_DAYS, "received_at__lt"),
    ):
        old = RawInbound.objects.filter(state=state, **{field: now - timedelta(days=days)})
        while ids := list(old.values_list("pk", flat=True)[:5000]):
            deleted += RawInbound.objects.filter(pk__in=ids).delete()[0]
    return deleted
