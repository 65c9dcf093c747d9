"""Widget reads: a shopper's conversations and their public history, in constant queries.

Only public messages (kind "message") are ever shown to a shopper: notes and activity lines
stay in the console.
"""

from __future__ import annotations

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from helpdesk.conversations.models import Attachment, Conversation, Message, MessageKind
from helpdesk.customers.models import ContactIdentity, Customer, IdentityKind
from helpdesk.inboxes.models import Channel

PAGE_SIZE = 50
CONVERSATION_PAGE_SIZE = 20


def widget_conversations(*, channel: Channel, customer: Customer) -> list[Conversation]:
    """The shopper's conversations on this channel, newest activity first, each with the text
    of its last public message as `preview` (one query)."""
    return list(
        Conversation.objects.filter(channel=channel, customer=customer)
        .annotate(
            preview=Subquery(
                Message.objects.filter(conversation=OuterRef("pk"), kind=MessageKind.MESSAGE)
                .order_by("-pk")
                .values("text")[:1]
            )
        )
        .order_by("-last_activity_at", "-pk")[:CONVERSATION_PAGE_SIZE]
    )


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
