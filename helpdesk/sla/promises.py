"""Honest reply-time promises for customers.

The promise is the first-response target of the policy a new conversation on this channel would
get, stretched to how far behind the queue is right now (the longest current wait on the
channel, in the same time mode), and, outside business hours, when the team is back (in the
calendar's time zone). Without a policy it falls back to the channel setting
`reply_time_minutes` (default 120).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Min
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from helpdesk.conversations.models import Conversation, ConversationStatus
from helpdesk.inboxes.models import Channel
from helpdesk.sla.business_time import business_time_between, next_opening
from helpdesk.sla.models import SLATarget
from helpdesk.sla.policies import load_policies

DEFAULT_REPLY_MINUTES = 120


@dataclass(frozen=True)
class ReplyExpectation:
    """When a customer writing now can expect a reply.

    `within` is the typical wait while the team is working; `back_at` is set when nobody is
    working now (outside business hours), in the calendar's time zone.
    """

    within: timedelta
    back_at: datetime | None = None


def queue_lag(*, channel: Channel, now: datetime) -> tuple[datetime | None, timedelta]:
    """The oldest unanswered open conversation's start of waiting on this channel (one query)."""
    oldest = Conversation.objects.filter(
        channel=channel, status=ConversationStatus.OPEN, waiting_since__isnull=False
    ).aggregate(oldest=Min("waiting_since"))["oldest"]
    return oldest, (now - oldest if oldest else timedelta(0))


def reply_expectation(*, channel: Channel, now: datetime | None = None) -> ReplyExpectation:
    now = now or timezone.now()
    policies = load_policies()
    probe = Conversation(channel=channel, team_id=channel.default_team_id)
    policy = policies.for_conversation(probe) if policies else None
    spec = policies.targets(policy).get(str(SLATarget.FIRST_RESPONSE)) if policy else None
    if spec is None:
        minutes = int(channel.settings.get("reply_time_minutes", DEFAULT_REPLY_MINUTES) or 0)
        return ReplyExpectation(within=timedelta(minutes=max(minutes, 1)))
    within = spec.length
    oldest, _lag = queue_lag(channel=channel, now=now)
    if oldest is not None:
        within = max(within, business_time_between(spec.calendar, oldest, now))
    back_at = None
    if spec.calendar is not None:
        opening = next_opening(spec.calendar, now)
        if opening > now:
            back_at = opening.astimezone(spec.calendar.tz)
    return ReplyExpectation(within=within, back_at=back_at)


def reply_expectation_text(expectation: ReplyExpectation, *, language: str) -> str:
    """A sentence in `language`: "We usually reply within 2 hours" / "We're back Monday at
    09:00." (the time in the calendar's own time zone)."""
    with translation.override(language):
        if expectation.back_at is not None:
            local = expectation.back_at
            return _("We're back %(day)s at %(time)s.") % {
                "day": date_format(local, "l"),
                "time": local.strftime("%H:%M"),
            }
        minutes = max(1, int(expectation.within.total_seconds() // 60))
        if minutes < 60:
            return ngettext(
                "We usually reply within %(n)d minute.",
                "We usually reply within %(n)d minutes.",
                minutes,
            ) % {"n": minutes}
        hours = round(minutes / 60)
        if hours < 48:
            return ngettext(
                "We usually reply within %(n)d hour.", "We usually reply within %(n)d hours.", hours
            ) % {"n": hours}
        days = round(hours / 24)
        return ngettext(
            "We usually reply within %(n)d day.", "We usually reply within %(n)d days.", days
        ) % {"n": days}
