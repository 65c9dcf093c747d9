"""The fields a conversation derives from its messages, for conversations written in bulk.

The services keep these fields one message at a time (`message_receive_inbound`,
`message_send_reply`, `note_create`, `conversation_change_status`); an import writes a
conversation with its whole history at once, so it computes the state those services would
have left after replaying the history in time order. Pure: no database access.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from helpdesk.conversations.models import (
    Conversation,
    ConversationStatus,
    MessageDirection,
    MessageKind,
    SenderType,
)

FIELDS = [
    "last_activity_at",
    "last_inbound_at",
    "last_inbound_message_id",
    "last_outbound_at",
    "first_response_at",
    "waiting_since",
    "resolved_at",
]


@dataclass(frozen=True, slots=True)
class MessageFact:
    """What the derived fields need to know of one message."""

    id: int
    at: datetime
    direction: str
    kind: str
    sender_type: str


@dataclass(frozen=True, slots=True)
class Derived:
    last_activity_at: datetime
    last_inbound_at: datetime | None
    last_inbound_message_id: int
    last_outbound_at: datetime | None
    first_response_at: datetime | None
    waiting_since: datetime | None
    resolved_at: datetime | None


def derive(
    *,
    created_at: datetime,
    status: str,
    resolved_at: datetime | None,
    messages: Iterable[MessageFact],
) -> Derived:
    """Replay `messages` in time order (ties in id order): a customer message starts a wait
    unless one is running and is the newest inbound message; an agent's reply answers (the
    first one is the first response) and ends the wait, a bot's or the system's does not; a
    note is activity only; activity lines change nothing. A resolved conversation waits for
    nobody; it was resolved at `resolved_at`, but not before its last activity (the default
    when the source did not say). So the result does not depend on whether the messages came
    with their conversation or later (a later chunk, a later import)."""
    last_activity = created_at
    last_inbound_at = last_outbound_at = first_response_at = waiting_since = None
    last_inbound_id = 0
    for fact in sorted(messages, key=lambda m: (m.at, m.id)):
        if fact.kind == MessageKind.ACTIVITY:
            continue
        last_activity = max(last_activity, fact.at)
        if fact.kind == MessageKind.NOTE:
            continue
        if fact.direction == MessageDirection.INBOUND:
            last_inbound_at = fact.at
            last_inbound_id = fact.id
            waiting_since = waiting_since or fact.at
        elif fact.direction == MessageDirection.OUTBOUND:
            last_outbound_at = fact.at
            if fact.sender_type == SenderType.AGENT:
                first_response_at = first_response_at or fact.at
                waiting_since = None
    resolved = status == ConversationStatus.RESOLVED
    return Derived(
        last_activity_at=last_activity,
        last_inbound_at=last_inbound_at,
        last_inbound_message_id=last_inbound_id,
        last_outbound_at=last_outbound_at,
        first_response_at=first_response_at,
        waiting_since=None if resolved else waiting_since,
        resolved_at=max(resolved_at or last_activity, last_activity) if resolved else None,
    )


def apply(conversation: Conversation, derived: Derived) -> None:
    for name in FIELDS:
        setattr(conversation, name, getattr(derived, name))
