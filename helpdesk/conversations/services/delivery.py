"""Outbound delivery state. Status only moves forward; failures reach the assignee."""

from __future__ import annotations

from collections.abc import Collection

from django.db import IntegrityError, transaction
from django.utils import timezone

from helpdesk.conversations.events import broadcast_message
from helpdesk.conversations.models import (
    DELIVERY_RANK,
    FINAL_DELIVERY_STATUSES,
    DeliveryStatus,
    Message,
    delivery_status_moves_forward,
)
from helpdesk.notifications.services import notify_delivery_failed


@transaction.atomic
def message_update_delivery_status(
    *,
    message_id: int,
    status: str,
    external_id: str | None = None,
    error_code: str = "",
    error_message: str = "",
    replaces_failures: Collection[str] = (),
) -> tuple[Message, bool]:
    """Apply a delivery status if it moves forward (queued < sending < sent < delivered < read;
    failed/undelivered are final). Returns (message, changed). Locks the message row, so
    callbacks racing each other apply in a safe order. Records the provider id when given.
    A failure notifies the conversation's assignee.

    `replaces_failures` names provisional failure codes (the channel could not tell whether the
    message went out): a message failed with one of them takes any real provider status
    instead, forward or not. Every other failure stays final.
    """
    message = (
        Message.objects.select_for_update(of=("self",))
        .select_related("conversation")
        .get(pk=message_id)
    )
    changed_fields: list[str] = []
    if external_id and not message.external_id:
        message.external_id = external_id
        changed_fields.append("external_id")
    provisional = (
        message.delivery_status == DeliveryStatus.FAILED
        and message.error_code in replaces_failures
        and status in DELIVERY_RANK
        and DELIVERY_RANK[status] > DELIVERY_RANK[DeliveryStatus.PENDING]
    )
    moved = provisional or delivery_status_moves_forward(message.delivery_status, status)
    if moved:
        message.delivery_status = status
        message.status_updated_at = timezone.now()
        changed_fields += ["delivery_status", "status_updated_at"]
        if status in FINAL_DELIVERY_STATUSES or provisional:
            message.error_code = str(error_code or "")[:20]
            message.error_message = (error_message or "")[:500]
            changed_fields += ["error_code", "error_message"]
    if not changed_fields:
        return message, False
    try:
        with transaction.atomic():
            message.save(update_fields=changed_fields)
    except IntegrityError:
        # The provider id is already on another message of this channel: keep ours unset.
        message.external_id = None
        changed_fields.remove("external_id")
        message.save(update_fields=changed_fields)
    if moved:
        broadcast_message(message, "message.updated")
        if status in FINAL_DELIVERY_STATUSES:
            notify_delivery_failed(message)
    return message, moved
