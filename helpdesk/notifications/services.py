"""Stored notifications for agents. Every one is also announced live after commit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from helpdesk.conversations.models import Conversation, Message
from helpdesk.core.realtime import agent_group, broadcast_on_commit
from helpdesk.notifications.models import Notification, NotificationKind


@transaction.atomic
def notification_create(
    *,
    recipient_ids: Iterable[int],
    kind: str,
    key: str,
    conversation: Conversation,
    message: Message | None = None,
    data: dict[str, Any] | None = None,
) -> list[Notification]:
    """Notify each recipient once per `key` (idempotent: a repeat creates and announces
    nothing). Announces `notification.created` to each new recipient after commit."""
    ids = sorted({pk for pk in recipient_ids if pk is not None})
    if not ids:
        return []
    known = set(
        Notification.objects.filter(recipient_id__in=ids, key=key).values_list(
            "recipient_id", flat=True
        )
    )
    rows = [
        Notification(
            recipient_id=pk,
            kind=kind,
            key=key,
            conversation=conversation,
            message=message,
            data=data or {},
        )
        for pk in ids
        if pk not in known
    ]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    created = list(
        Notification.objects.filter(
            recipient_id__in=[r.recipient_id for r in rows], key=key
        ).order_by("recipient_id")
    )
    for notification in created:
        broadcast_on_commit(
            agent_group(notification.recipient_id),
            {
                "type": "notification.created",
                "notification_id": notification.pk,
                "kind": kind,
                "conversation_id": conversation.pk,
            },
        )
    return created


def notification_mark_read(
    *,
    user: AbstractBaseUser,
    notification_ids: Iterable[int] | None = None,
    conversation: Conversation | None = None,
) -> int:
    """Mark the user's unread notifications read: those named, those of one conversation, or
    all. One UPDATE; returns how many changed and announces `notification.read` (the user's
    other tabs update) when any did."""
    rows = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        rows = rows.filter(pk__in=list(notification_ids))
    if conversation is not None:
        rows = rows.filter(conversation=conversation)
    with transaction.atomic():
        changed = rows.update(read_at=timezone.now())
        if changed:
            broadcast_on_commit(agent_group(user.pk), {"type": "notification.read"})
    return changed


def notification_mark_read_for_conversation(
    *, user: AbstractBaseUser, conversation: Conversation
) -> int:
    """Opening a conversation settles its notifications."""
    return notification_mark_read(user=user, conversation=conversation)


def responsible_agent_ids(conversation: Conversation) -> list[int]:
    """Who answers for a conversation: its assignee; else its team; else the managers."""
    if conversation.assignee_id:
        return [conversation.assignee_id]
    user_model = get_user_model()
    agents = user_model.objects.filter(is_active=True, agent_profile__isnull=False)
    if conversation.team_id:
        team = list(agents.filter(teams=conversation.team_id).values_list("pk", flat=True))
        if team:
            return team
    return list(agents.filter(is_staff=True).values_list("pk", flat=True))


def notify_delivery_failed(message: Message) -> list[Notification]:
    """A reply finally failed: whoever answers for the conversation hears it, with the
    reason, once per message."""
    conversation = message.conversation
    return notification_create(
        recipient_ids=responsible_agent_ids(conversation),
        kind=NotificationKind.DELIVERY_FAILED,
        key=f"delivery_failed:{message.pk}",
        conversation=conversation,
        message=message,
        data={"code": message.error_code, "reason": message.error_message},
    )
