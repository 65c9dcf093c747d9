"""Builders for SLA tests: calendars and policies with readable defaults."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import Any

from helpdesk.conversations.models import Conversation
from helpdesk.sla.models import BusinessCalendar, OpeningPeriod, SLAPolicy, SLARule


def office_calendar(name: str = "Office", tz: str = "Europe/Oslo") -> BusinessCalendar:
    """Mon-Fri 09:00-17:00."""
    calendar = BusinessCalendar.objects.create(name=name, time_zone=tz)
    OpeningPeriod.objects.bulk_create(
        OpeningPeriod(calendar=calendar, weekday=d, start_time=time(9), end_time=time(17))
        for d in range(5)
    )
    return calendar


def policy(name: str = "Standard", **kwargs: Any) -> SLAPolicy:
    """A 24/7 default policy: first response 60, next response 120, resolution 600 minutes."""
    defaults: dict[str, Any] = {
        "is_default": True,
        "first_response_minutes": 60,
        "next_response_minutes": 120,
        "resolution_minutes": 600,
        "warn_percent": 80,
    }
    defaults.update(kwargs)
    return SLAPolicy.objects.create(name=name, **defaults)


def rule(target: SLAPolicy, position: int = 0, **conditions: Any) -> SLARule:
    return SLARule.objects.create(policy=target, position=position, **conditions)


MONDAY_0800_UTC = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def started(at: datetime = MONDAY_0800_UTC, **kwargs: Any) -> Conversation:
    """A conversation whose SLA clocks started at `at` (as the inbound service starts them)."""
    from helpdesk.sla import timers
    from tests.support import factories

    conversation = factories.ConversationFactory(**kwargs)
    timers.sla_on_conversation_created(conversation=conversation, at=at)
    return Conversation.objects.get(pk=conversation.pk)


def fresh(conversation: Conversation) -> Conversation:
    return Conversation.objects.get(pk=conversation.pk)
