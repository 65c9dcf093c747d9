"""Honest reply-time promises for customers.

The promise is the reply target of the policy that applies: for a real conversation its own
policy (first response until answered, then next response) and the time left to its stored
deadline; without one (the widget before the first message), the policy a new conversation on
the channel would get. It is stretched to how far behind the queue is now (the median wait of
the conversations waiting on the channel, in the same time mode, so one forgotten conversation
does not inflate every promise), and, outside business hours, says when the team is back (in
the calendar's time zone; with the date when that is more than six days away). Without a policy
(or with a calendar that never opens) it falls back to the channel setting `reply_time_minutes`
(default 120).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from helpdesk.conversations.models import Conversation, ConversationStatus
from helpdesk.inboxes.models import Channel
from helpdesk.sla.business_time import NoOpeningHours, business_time_between, next_opening
from helpdesk.sla.clock import DUE_FIELD
from helpdesk.sla.models import SLATarget
from helpdesk.sla.policies import TargetSpec, load_policies

DEFAULT_REPLY_MINUTES = 120
# Beyond this, "We're back Monday" could mean next week's Monday: give the date too.
WEEKDAY_ONLY_WITHIN = timedelta(days=6)
FIRST = str(SLATarget.FIRST_RESPONSE)
NEXT = str(SLATarget.NEXT_RESPONSE)


@dataclass(frozen=True)
class ReplyExpectation:
    """When a customer writing now can expect a reply.

    `within` is the typical wait while the team is working; `back_at` is set when nobody is
    working now (outside business hours), in the calendar's time zone; `back_after_long_closure`
    when that is more than six days away (say the date, not only the weekday).
    """

    within: timedelta
    back_at: datetime | None = None
    back_after_long_closure: bool = False


def queue_lag(
    *, channel: Channel, now: datetime, exclude_id: int | None = None
) -> tuple[datetime | None, timedelta]:
    """The median start of waiting among the open conversations waiting for a reply on this
    channel, and the median wait (two queries on the `conv_waiting` index). The median, not
    the longest wait: one forgotten conversation must not stretch every promise."""
    waiting = Conversation.objects.filter(
        channel=channel, status=ConversationStatus.OPEN, waiting_since__isnull=False
    )
    if exclude_id is not None:
        waiting = waiting.exclude(pk=exclude_id)
    count = waiting.count()
    if not count:
        return None, timedelta(0)
    middle = list(
        waiting.order_by("waiting_since", "pk").values_list("waiting_since", flat=True)[
            (count - 1) // 2 : count // 2 + 1
        ]
    )
    if not middle:
        return None, timedelta(0)
    median = middle[0] + (middle[-1] - middle[0]) / 2
    return median, max(now - median, timedelta(0))


def _policy_target(
    channel: Channel, conversation: Conversation | None
) -> tuple[TargetSpec | None, datetime | None]:
    """The reply target that applies and, for a real conversation, its stored deadline."""
    policies = load_policies()
    if not policies:
        return None, None
    if conversation is None:
        probe = Conversation(channel=channel, team_id=channel.default_team_id)
        policy = policies.for_conversation(probe)
        return (policies.targets(policy).get(FIRST) if policy else None), None
    policy = policies.by_id.get(conversation.sla_policy_id)
    if policy is None:
        return None, None
    target = FIRST if conversation.first_response_at is None else NEXT
    targets = policies.targets(policy)
    spec = targets.get(target) or targets.get(FIRST)
    due = getattr(conversation, DUE_FIELD[SLATarget(target)])
    return spec, due


def reply_expectation(
    *,
    channel: Channel,
    conversation: Conversation | None = None,
    now: datetime | None = None,
) -> ReplyExpectation:
    """The promise for a customer writing now on `channel`, or in `conversation` (its policy
    and stored deadline; pass the row as the timers left it)."""
    now = now or timezone.now()
    spec, due = _policy_target(channel, conversation)
    if spec is None:
        return _channel_setting(channel)
    try:
        within = spec.length
        if due is not None and due > now:
            within = business_time_between(spec.calendar, now, due)
        median, _lag = queue_lag(
            channel=channel, now=now, exclude_id=conversation.pk if conversation else None
        )
        if median is not None:
            within = max(within, business_time_between(spec.calendar, median, now))
        opening = next_opening(spec.calendar, now)
    except NoOpeningHours:  # a calendar that never opens promises nothing
        return _channel_setting(channel)
    if spec.calendar is None or opening <= now:
        return ReplyExpectation(within=within)
    return ReplyExpectation(
        within=within,
        back_at=opening.astimezone(spec.calendar.tz),
        back_after_long_closure=opening - now > WEEKDAY_ONLY_WITHIN,
    )


def _channel_setting(channel: Channel) -> ReplyExpectation:
    minutes = int(channel.settings.get("reply_time_minutes", DEFAULT_REPLY_MINUTES) or 0)
    return ReplyExpectation(within=timedelta(minutes=max(minutes, 1)))


def reply_expectation_text(expectation: ReplyExpectation, *, language: str) -> str:
    """A sentence in `language`: "We usually reply within 2 hours" / "We're back Monday at
    09:00." / "We're back Monday, Jan. 4, 2027 at 09:00." (in the calendar's time zone)."""
    with translation.override(language):
        if expectation.back_at is not None:
            local = expectation.back_at
            if expectation.back_after_long_closure:
                return _("We're back %(day)s, %(date)s at %(time)s.") % {
                    "day": date_format(local, "l"),
                    "date": date_format(local, "DATE_FORMAT"),
                    "time": local.strftime("%H:%M"),
                }
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
