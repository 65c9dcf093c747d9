"""Agent and bot replies, and private notes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.conversations.events import broadcast_conversation, broadcast_message
from helpdesk.conversations.models import (
    Conversation,
    DeliveryStatus,
    Message,
    MessageDirection,
    MessageKind,
    SenderType,
)
from helpdesk.conversations.services.reply_files import (
    ReplyFile,
    check_reply_files,
    reply_files_store,
)
from helpdesk.conversations.services.state import assign_on_reply
from helpdesk.core.errors import DeliveryRefused, DomainError
from helpdesk.core.jobs import enqueue_on_commit
from helpdesk.customers.models import ChannelOptOut
from helpdesk.inboxes.limits import limits_for
from helpdesk.sla import timers

DELIVER_TASK = "channels_app.tasks.deliver_message"


def reply_window_remaining(conversation: Conversation) -> timedelta | None:
    """Time left for a free-form reply on channels with a window (WhatsApp); None if unlimited.

    A zero or negative value means only approved templates may be sent.
    """
    hours = limits_for(conversation.channel.kind).reply_window_hours
    if hours is None:
        return None
    if conversation.last_inbound_at is None:
        return timedelta(0)
    return conversation.last_inbound_at + timedelta(hours=hours) - timezone.now()


def check_reply_allowed(
    *, conversation: Conversation, text: str, is_template: bool = False, has_files: bool = False
) -> None:
    """Raise a clear DeliveryRefused/DomainError when this reply may not be sent."""
    limits = limits_for(conversation.channel.kind)
    if not text.strip() and not is_template and not has_files:
        raise DomainError(_("A reply needs some text."), code="empty")
    if len(text) > limits.max_text_length:
        raise DomainError(
            _("This channel accepts at most %(n)s characters.") % {"n": limits.max_text_length},
            code="too_long",
        )
    if ChannelOptOut.objects.filter(
        customer_id=conversation.customer_id, channel_id=conversation.channel_id
    ).exists():
        raise DeliveryRefused(
            _("The customer has opted out of messages on this channel."), code="opted_out"
        )
    remaining = reply_window_remaining(conversation)
    if remaining is not None and remaining <= timedelta(0) and not is_template:
        raise DeliveryRefused(
            _(
                "More than 24 hours have passed since the customer's last message: "
                "only an approved template can be sent."
            ),
            code="outside_window",
        )


@transaction.atomic
def message_send_reply(
    *,
    conversation: Conversation,
    author: AbstractBaseUser | None,
    text: str,
    client_id: str | None = None,
    sender_type: str = SenderType.AGENT,
    content_attributes: dict[str, Any] | None = None,
    files: Sequence[ReplyFile] = (),
) -> Message:
    """Persist a public reply (with any `files`, images or PDF) and queue its delivery after
    commit.

    Idempotent on `client_id` (a double submit returns the first message). Locks the
    conversation row. Refuses replies the channel cannot carry (opt-out, WhatsApp window,
    length). An unassigned conversation is assigned to the agent who replies.
    Template sends pass `content_attributes={"template": {...}}`.
    """
    conversation = (
        Conversation.objects.select_for_update().select_related("channel").get(pk=conversation.pk)
    )
    if client_id:
        existing = Message.objects.filter(conversation=conversation, client_id=client_id).first()
        if existing is not None:
            return existing
    attrs = content_attributes or {}
    check_reply_allowed(
        conversation=conversation,
        text=text,
        is_template="template" in attrs,
        has_files=bool(files),
    )
    types = check_reply_files(
        files, channel_accepts_files=limits_for(conversation.channel.kind).supports_attachments
    )
    now = timezone.now()
    message = Message.objects.create(
        conversation=conversation,
        channel_id=conversation.channel_id,
        direction=MessageDirection.OUTBOUND,
        kind=MessageKind.MESSAGE,
        sender_type=sender_type,
        sender_user=author,
        text=text,
        client_id=client_id or None,
        content_attributes=attrs,
        delivery_status=DeliveryStatus.PENDING,
        status_updated_at=now,
    )
    reply_files_store(message=message, files=files, types=types)
    if author is not None and sender_type == SenderType.AGENT:
        assign_on_reply(conversation=conversation, agent=author)
    conversation.last_activity_at = now
    conversation.last_outbound_at = now
    if sender_type == SenderType.AGENT:
        # Only a person's reply answers the customer; bot messages (acknowledgements,
        # automation) leave the customer waiting until automation hands off or resolves.
        if conversation.first_response_at is None:
            conversation.first_response_at = now
        conversation.waiting_since = None
    conversation.save()
    if sender_type == SenderType.AGENT:
        timers.sla_on_agent_reply(conversation=conversation, at=now)
    broadcast_message(message)
    broadcast_conversation(conversation, "conversation.updated")
    enqueue_on_commit(DELIVER_TASK, message.pk)
    return message


@transaction.atomic
def note_create(
    *,
    conversation: Conversation,
    author: AbstractBaseUser,
    text: str,
    files: Sequence[ReplyFile] = (),
) -> Message:
    """A private note (with any `files`): visible to agents only, never delivered, never stops
    an SLA clock."""
    if not text.strip() and not files:
        raise DomainError(_("A note needs some text."), code="empty")
    types = check_reply_files(files, channel_accepts_files=True)
    conversation = Conversation.objects.select_for_update().get(pk=conversation.pk)
    message = Message.objects.create(
        conversation=conversation,
        channel_id=conversation.channel_id,
        direction=MessageDirection.INTERNAL,
        kind=MessageKind.NOTE,
        sender_type=SenderType.AGENT,
        sender_user=author,
        text=text,
    )
    reply_files_store(message=message, files=files, types=types)
    conversation.last_activity_at = timezone.now()
    conversation.save(update_fields=["last_activity_at", "updated_at"])
    broadcast_message(message)
    return message
