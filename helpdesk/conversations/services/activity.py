"""Activity lines: the timeline's record of who did what. Stored structured, rendered in the
reader's language (see `templatetags`), with an English `text` for exports and logs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from helpdesk.conversations.events import broadcast_message
from helpdesk.conversations.models import (
    Conversation,
    Message,
    MessageDirection,
    MessageKind,
    SenderType,
)


def activity_record(
    *,
    conversation: Conversation,
    event: str,
    text: str,
    by: AbstractBaseUser | None = None,
    at: datetime | None = None,
    **details: Any,
) -> Message:
    """One line on the timeline (at `at`, default now), announced to the inbox."""
    message = Message.objects.create(
        conversation=conversation,
        channel_id=conversation.channel_id,
        direction=MessageDirection.INTERNAL,
        kind=MessageKind.ACTIVITY,
        sender_type=SenderType.AGENT if by else SenderType.SYSTEM,
        sender_user=by,
        text=text,
        content_attributes={"event": event, **details},
        **({"created_at": at} if at is not None else {}),
    )
    broadcast_message(message)
    return message


def display_name(user: AbstractBaseUser | None) -> str:
    if user is None:
        return "system"
    profile = getattr(user, "agent_profile", None)
    return profile.display_name if profile else user.get_username()
