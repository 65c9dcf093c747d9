"""Opt-out keywords and the opt-out/opt-in writes for a customer on one channel.

Twilio's Advanced Opt-Out keywords: a whole message (case-insensitive) of STOP, UNSUBSCRIBE,
END, QUIT, STOPALL, REVOKE, OPTOUT or CANCEL opts out; START, YES or UNSTOP opts back in.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from helpdesk.customers.models import ChannelOptOut
from helpdesk.inboxes.models import Channel

OPT_OUT_KEYWORDS = frozenset(
    {"STOP", "UNSUBSCRIBE", "END", "QUIT", "STOPALL", "REVOKE", "OPTOUT", "CANCEL"}
)
OPT_IN_KEYWORDS = frozenset({"START", "YES", "UNSTOP"})


def keyword_of(text: str) -> str:
    """'out', 'in' or '' for a message text."""
    word = (text or "").strip().strip(".!").upper()
    if word in OPT_OUT_KEYWORDS:
        return "out"
    if word in OPT_IN_KEYWORDS:
        return "in"
    return ""


@transaction.atomic
def customer_opt_out(*, customer_id: int, channel: Channel, reason: str) -> bool:
    """Record that the customer opted out of this channel. Idempotent: True if newly recorded."""
    if ChannelOptOut.objects.filter(customer_id=customer_id, channel=channel).exists():
        return False
    try:
        with transaction.atomic():
            ChannelOptOut.objects.create(
                customer_id=customer_id,
                channel=channel,
                opted_out_at=timezone.now(),
                reason=reason[:200],
            )
    except IntegrityError:  # a concurrent STOP recorded it first
        return False
    return True


@transaction.atomic
def customer_opt_in(*, customer_id: int, channel: Channel) -> bool:
    """Remove the customer's opt-out of this channel. True if there was one."""
    deleted, _ = ChannelOptOut.objects.filter(customer_id=customer_id, channel=channel).delete()
    return deleted > 0
