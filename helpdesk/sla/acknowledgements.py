"""Automatic acknowledgements: on SMS, WhatsApp and email, a channel may answer a customer's
message at once with an honest promise ("We usually reply within 2 hours" / "We're back Monday
at 09:00"), in the customer's language.

Channel settings: `auto_acknowledge` (bool, off by default) and
`auto_acknowledge_period_hours` (default 24): at most one acknowledgement per conversation per
period. Never sent to an opted-out customer, never after an agent already answered.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from helpdesk.conversations.models import Conversation, Message, SenderType
from helpdesk.conversations.services import message_send_reply
from helpdesk.core.errors import DomainError
from helpdesk.customers.models import ChannelOptOut
from helpdesk.inboxes.models import Channel, ChannelKind
from helpdesk.sla.models import Acknowledgement
from helpdesk.sla.promises import reply_expectation, reply_expectation_text

logger = logging.getLogger(__name__)

ACKNOWLEDGED_KINDS = frozenset({ChannelKind.SMS, ChannelKind.WHATSAPP, ChannelKind.EMAIL})
DEFAULT_PERIOD_HOURS = 24


def acknowledgement_wanted(channel: Channel) -> bool:
    return channel.kind in ACKNOWLEDGED_KINDS and bool(channel.settings.get("auto_acknowledge"))


def _language(conversation: Conversation) -> str:
    codes = {code for code, _ in settings.LANGUAGES}
    locale = (conversation.customer.locale or "").split("-")[0].lower()
    return locale if locale in codes else settings.LANGUAGE_CODE


@transaction.atomic
def acknowledgement_send(*, trigger_message_id: int) -> Message | None:
    """Acknowledge one inbound message if the channel wants it and the rules allow.

    Idempotent per inbound message (unique `trigger_message_id`); at most one per conversation
    per period (checked with the conversation row locked). Returns the bot message or None.
    """
    trigger = Message.objects.select_related("channel").filter(pk=trigger_message_id).first()
    if trigger is None or not acknowledgement_wanted(trigger.channel):
        return None
    conversation = (
        Conversation.objects.select_for_update()
        .select_related("customer", "channel")
        .get(pk=trigger.conversation_id)
    )
    now = timezone.now()
    if conversation.waiting_since is None:
        return None  # an agent answered before the job ran
    period = timedelta(
        hours=int(conversation.channel.settings.get("auto_acknowledge_period_hours") or 0)
        or DEFAULT_PERIOD_HOURS
    )
    if Acknowledgement.objects.filter(
        conversation=conversation, sent_at__gt=now - period
    ).exists() or Acknowledgement.objects.filter(trigger_message_id=trigger.pk).exists():
        return None
    if ChannelOptOut.objects.filter(
        customer_id=conversation.customer_id, channel_id=conversation.channel_id
    ).exists():
        return None
    text = reply_expectation_text(
        reply_expectation(channel=conversation.channel, conversation=conversation, now=now),
        language=_language(conversation),
    )
    try:
        with transaction.atomic():
            message = message_send_reply(
                conversation=conversation,
                author=None,
                text=text,
                sender_type=SenderType.BOT,
                client_id=f"ack-{trigger.pk}",
                content_attributes={"automatic": "acknowledgement"},
            )
            Acknowledgement.objects.create(
                conversation=conversation,
                message=message,
                trigger_message_id=trigger.pk,
                sent_at=now,
            )
    except (DomainError, IntegrityError) as exc:
        logger.info("acknowledgement skipped for conversation=%s: %s", conversation.pk, exc)
        return None
    return message
