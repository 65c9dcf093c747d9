"""Realtime event payloads for conversations and messages: ids and small facts only, so the
event log holds no message text or contact details. Clients fetch what they show."""

from __future__ import annotations

from typing import Any

from helpdesk.conversations.models import Conversation, Message
from helpdesk.core.realtime import broadcast_on_commit, inbox_group, visitor_group


def conversation_facts(conversation: Conversation) -> dict[str, Any]:
    return {
        "conversation_id": conversation.pk,
        "channel_id": conversation.channel_id,
        "customer_id": conversation.customer_id,
        "status": conversation.status,
        "priority": conversation.priority,
        "assignee_id": conversation.assignee_id,
        "team_id": conversation.team_id,
        "last_activity_at": conversation.last_activity_at.isoformat(),
    }


def message_facts(message: Message) -> dict[str, Any]:
    return {
        "conversation_id": message.conversation_id,
        "message_id": message.pk,
        "direction": message.direction,
        "kind": message.kind,
        "sender_type": message.sender_type,
        "delivery_status": message.delivery_status,
    }


def broadcast_conversation(conversation: Conversation, event_type: str, **extra: Any) -> None:
    """`conversation.created` / `conversation.updated` to everyone watching its inbox."""
    broadcast_on_commit(
        inbox_group(conversation.channel_id),
        {"type": event_type, **conversation_facts(conversation), **extra},
    )


def broadcast_message(message: Message, event_type: str = "message.created") -> None:
    """Message events to the inbox; public messages also to the customer's widget sessions."""
    facts = message_facts(message)
    broadcast_on_commit(inbox_group(message.channel_id), {"type": event_type, **facts})
    if message.is_public:
        broadcast_on_commit(
            visitor_group(message.conversation.customer_id), {"type": event_type, **facts}
        )
