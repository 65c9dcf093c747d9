"""Widget reads: a shopper's conversations and their public history, in constant queries.

Only public messages (kind "message") are ever shown to a shopper: notes and activity lines
stay in the console.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery

from helpdesk.conversations.models import Attachment, Conversation, Message, MessageKind
from helpdesk.customers.models import ContactIdentity, Customer, IdentityKind
from helpdesk.inboxes.models import Channel

PAGE_SIZE = 50
CONVERSATION_PAGE_SIZE = 20


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_CURSOR = re.compile(r"(\d{1,17})_(\d{1,18})", re.ASCII)  # 17 digits: past the year 5000


@dataclass(frozen=True)
class ConversationCursor:
    """A position in the shopper's list: the (last activity, id) of the last row shown.
    Keyset paging, so a conversation that gets new activity meanwhile moves to the top instead
    of shifting every later page."""

    last_activity_at: datetime
    pk: int

    def encode(self) -> str:
        return f"{(self.last_activity_at - _EPOCH) // _MICROSECOND}_{self.pk}"

    @classmethod
    def decode(cls, value: str) -> ConversationCursor | None:
        """None for anything that is not a cursor this module made."""
        match = _CURSOR.fullmatch(value)
        if match is None:
            return None
        return cls(_EPOCH + int(match[1]) * _MICROSECOND, int(match[2]))


def widget_conversations(
    *, channel: Channel, customer: Customer, cursor: ConversationCursor | None = None
) -> tuple[list[Conversation], ConversationCursor | None]:
    """A page of the shopper's conversations on this channel, newest activity first, each with
    the text of its last public message as `preview`; `cursor` continues after a previous page.
    Returns (conversations, cursor of the next page or None). One query."""
    qs = Conversation.objects.filter(channel=channel, customer=customer)
    if cursor is not None:
        qs = qs.filter(
            Q(last_activity_at__lt=cursor.last_activity_at)
            | Q(last_activity_at=cursor.last_activity_at, pk__lt=cursor.pk)
        )
    rows = list(
        qs.annotate(
            preview=Subquery(
                Message.objects.filter(conversation=OuterRef("pk"), kind=MessageKind.MESSAGE)
                .order_by("-pk")
                .values("text")[:1]
            )
        ).order_by("-last_activity_at", "-pk")[: CONVERSATION_PAGE_SIZE + 1]
    )
    page = rows[:CONVERSATION_PAGE_SIZE]
    if len(rows) <= CONVERSATION_PAGE_SIZE:
        return page, None
    return page, ConversationCursor(page[-1].last_activity_at, page[-1].pk)


def widget_conversation(*, channel: Channel, customer: Customer, pk: int) -> Conversation | None:
    return Conversation.objects.filter(channel=channel, customer=customer, pk=pk).first()


def public_messages(conversation: Conversation) -> QuerySet[Message]:
    return (
        Message.objects.filter(conversation=conversation, kind=MessageKind.MESSAGE)
        .select_related("sender_user__agent_profile")
        .prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("pk"))
        )
    )


def widget_messages(
    *, conversation: Conversation, after: int | None = None, before: int | None = None
) -> tuple[list[Message], bool]:
    """A page of the public thread, oldest first. `after` catches up after a reconnect (the
    messages following the last one shown); `before` pages back into older history. Returns
    (messages, has_more). Two queries whatever the page size (messages, attachments)."""
    qs = public_messages(conversation)
    if after is not None:
        rows = list(qs.filter(pk__gt=after).order_by("pk")[: PAGE_SIZE + 1])
        return rows[:PAGE_SIZE], len(rows) > PAGE_SIZE
    if before is not None:
        qs = qs.filter(pk__lt=before)
    rows = list(qs.order_by("-pk")[: PAGE_SIZE + 1])
    has_more = len(rows) > PAGE_SIZE
    return list(reversed(rows[:PAGE_SIZE])), has_more


def customer_has_email(customer: Customer) -> bool:
    if customer.custom_attributes.get("widget_email"):
        return True
    return ContactIdentity.objects.filter(customer=customer, kind=IdentityKind.EMAIL).exists()


def awaiting_reply(*, channel: Channel, customer: Customer) -> bool:
    """True while one of the shopper's conversations here waits for a first answer."""
    return Conversation.objects.filter(
        channel=channel, customer=customer, waiting_since__isnull=False
    ).exists()
