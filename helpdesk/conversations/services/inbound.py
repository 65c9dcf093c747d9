"""Receiving customer messages from any channel."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from helpdesk.conversations.events import broadcast_conversation, broadcast_message
from helpdesk.conversations.models import (
    Attachment,
    AttachmentStatus,
    Conversation,
    ConversationStatus,
    Message,
    MessageDirection,
    MessageKind,
    SenderType,
)
from helpdesk.conversations.services.activity import activity_record
from helpdesk.conversations.services.attachments import (
    attachment_storage_name,
    check_attachment,
)
from helpdesk.core.errors import DomainError
from helpdesk.core.jobs import enqueue_on_commit
from helpdesk.customers.models import Customer
from helpdesk.customers.services import customer_get_or_create_by_identity
from helpdesk.inboxes.models import Channel
from helpdesk.sla import timers
from helpdesk.sla.policies import PolicySet

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundAttachment:
    """Media on an inbound message: either a provider URL a job fetches, or bytes in hand."""

    content_type: str
    source_url: str = ""
    filename: str = ""
    content: bytes | None = None
    size: int | None = None


@dataclass(frozen=True)
class InboundMessage:
    """What a channel adapter hands the domain: provider-neutral, already parsed."""

    identity_kind: str
    identity_address: str
    text: str
    external_id: str | None
    sender_name: str = ""
    locale: str = ""
    verified: bool = False
    subject: str = ""
    content_attributes: dict[str, Any] = field(default_factory=dict)
    attachments: tuple[InboundAttachment, ...] = ()
    # Set when the adapter already knows the customer (a signed widget session).
    customer_id: int | None = None
    # Set when the provider threads explicitly (email In-Reply-To, a widget conversation).
    conversation_id: int | None = None


@dataclass(frozen=True)
class InboundResult:
    message: Message
    created: bool
    conversation_created: bool = False


def _existing(channel: Channel, external_id: str | None) -> Message | None:
    if not external_id:
        return None
    return (
        Message.objects.select_related("conversation")
        .filter(channel=channel, external_id=external_id)
        .first()
    )


def message_receive_inbound(
    *,
    channel: Channel,
    inbound: InboundMessage,
    new_conversation: bool = False,
    at: datetime | None = None,
) -> InboundResult:
    """Store a customer message: find or create the customer by identity, continue or reopen
    their conversation on this channel or start one, and record attachments.

    `new_conversation=True` (the customer asked for a fresh thread, e.g. the widget's "New
    conversation") always starts a conversation instead of continuing the open one; it cannot
    be combined with `inbound.conversation_id`.

    `at` is when the customer wrote (a stored webhook's acceptance time); default now. The
    message, the conversation's activity and the SLA clocks take that time.

    Idempotent on (channel, external_id): a repeat returns the stored message with
    `created=False`, also when two deliveries race (the unique constraint decides), so a retried
    first message of a new conversation never opens a second one. Events and jobs (media fetch)
    fire after commit.
    """
    if new_conversation and inbound.conversation_id is not None:
        raise DomainError(
            "A message either continues a conversation or starts a new one.",
            code="bad_conversation",
        )
    existing = _existing(channel, inbound.external_id)
    if existing is not None:
        return InboundResult(message=existing, created=False)
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _receive(
                    channel=channel, inbound=inbound, new_conversation=new_conversation, at=at
                )
        except IntegrityError:
            existing = _existing(channel, inbound.external_id)
            if existing is not None:
                return InboundResult(message=existing, created=False)
            if attempt == 1:
                raise
            logger.info("inbound race on identity, retrying channel=%s", channel.pk)
    raise AssertionError("unreachable")


def _resolve_customer(inbound: InboundMessage) -> Customer:
    if inbound.customer_id is not None:
        return Customer.objects.get(pk=inbound.customer_id)
    customer, _ = customer_get_or_create_by_identity(
        kind=inbound.identity_kind,
        address=inbound.identity_address,
        name=inbound.sender_name,
        locale=inbound.locale,
        verified=inbound.verified,
    )
    return customer


def _conversation_for(
    *,
    channel: Channel,
    customer: Customer,
    inbound: InboundMessage,
    now: datetime,
    new_conversation: bool = False,
) -> tuple[Conversation, bool]:
    qs = Conversation.objects.select_for_update().filter(customer=customer, channel=channel)
    if inbound.conversation_id is not None:
        conversation = qs.filter(pk=inbound.conversation_id).first()
        if conversation is None:
            raise DomainError("Unknown conversation for this customer.", code="bad_conversation")
        return conversation, False
    conversation = None if new_conversation else qs.order_by("-created_at", "-pk").first()
    if conversation is not None:
        if conversation.status != ConversationStatus.RESOLVED:
            return conversation, False
        window = timedelta(hours=channel.reopen_window_hours)
        if conversation.resolved_at and now - conversation.resolved_at <= window:
            return conversation, False
    conversation = Conversation.objects.create(
        customer=customer,
        channel=channel,
        team=channel.default_team,
        subject=inbound.subject[:255],
        created_at=now,
        last_activity_at=now,
    )
    return conversation, True


def _wake(
    conversation: Conversation,
    *,
    now: datetime,
    policies: PolicySet | None = None,
    save: bool = True,
) -> None:
    """A customer message brings a pending, snoozed or resolved conversation back to open.
    Batch writers pass the batch's `policies` and `save=False` (they save once)."""
    old = conversation.status
    if old == ConversationStatus.OPEN:
        return
    conversation.status = ConversationStatus.OPEN
    conversation.snoozed_until = None
    conversation.resolved_at = None
    if old != ConversationStatus.PENDING:  # a reply to "pending" is the expected path
        activity_record(
            conversation=conversation,
            event="reopened_by_customer",
            text="Reopened by a customer message",
            at=now,
            old_status=old,
        )
    timers.sla_on_status_changed(
        conversation=conversation,
        old_status=old,
        new_status="open",
        at=now,
        policies=policies,
        save=save,
    )


def _receive(
    *, channel: Channel, inbound: InboundMessage, new_conversation: bool, at: datetime | None
) -> InboundResult:
    now = at or timezone.now()
    customer = _resolve_customer(inbound)
    # Serialize inbound handling per customer so two messages never open two conversations.
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    # A merge may have committed while we waited for the lock: follow it to the survivor.
    for _hop in range(10):
        if customer.merged_into_id is None:
            break
        customer = Customer.objects.select_for_update().get(pk=customer.merged_into_id)
    conversation, conversation_created = _conversation_for(
        channel=channel,
        customer=customer,
        inbound=inbound,
        now=now,
        new_conversation=new_conversation,
    )
    status_before = conversation.status
    if conversation_created:
        timers.sla_on_conversation_created(conversation=conversation, at=now)
    else:
        _wake(conversation, now=now)
    message = Message.objects.create(
        conversation=conversation,
        channel=channel,
        direction=MessageDirection.INBOUND,
        kind=MessageKind.MESSAGE,
        sender_type=SenderType.CUSTOMER,
        text=inbound.text,
        external_id=inbound.external_id or None,
        content_attributes=inbound.content_attributes,
        created_at=now,
    )
    for item in inbound.attachments:
        _store_attachment(message, item)
    conversation.last_activity_at = max(conversation.last_activity_at, now)
    conversation.last_inbound_at = now
    conversation.last_inbound_message_id = message.pk
    if conversation.waiting_since is None:
        conversation.waiting_since = now
    conversation.save()
    timers.sla_on_customer_message(conversation=conversation, at=now)
    # One event per message; a conversation event only when the conversation itself changed
    # (created, or brought back to open): `message.created` refreshes the inbox.
    if conversation_created:
        broadcast_conversation(conversation, "conversation.created")
    elif conversation.status != status_before:
        broadcast_conversation(conversation, "conversation.updated")
    broadcast_message(message)
    if channel.settings.get("auto_acknowledge"):
        enqueue_on_commit("helpdesk.sla.tasks.acknowledge", message.pk)
    return InboundResult(message=message, created=True, conversation_created=conversation_created)


def _store_attachment(message: Message, item: InboundAttachment) -> Attachment:
    from django.core.files.base import ContentFile

    attachment = Attachment(
        message=message,
        filename=item.filename[:255],
        content_type=item.content_type,
        source_url=item.source_url,
        size=item.size or (len(item.content) if item.content is not None else 0),
    )
    problem = check_attachment(content_type=item.content_type, size=attachment.size)
    if problem:
        # Refused media still leaves a visible placeholder: the message is never lost.
        attachment.status = AttachmentStatus.REFUSED
        attachment.error = problem
        attachment.save()
        return attachment
    if item.content is not None:
        attachment.status = AttachmentStatus.STORED
        name = attachment_storage_name(item.content_type)
        attachment.file.save(name, ContentFile(item.content), save=False)
        attachment.save()
    else:
        attachment.status = AttachmentStatus.PENDING
        attachment.save()
        enqueue_on_commit("channels_app.tasks.fetch_attachment", attachment.pk)
    return attachment
