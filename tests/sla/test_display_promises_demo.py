"""Console display helper, customer promises and the demo seed."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from helpdesk.conversations.models import Conversation
from helpdesk.sla import timers
from helpdesk.sla.demo import sla_seed_demo
from helpdesk.sla.display import SLA_DUE_SOONEST_ORDER, sla_display
from helpdesk.sla.models import BusinessCalendar, Holiday, SLAPolicy, SLARule
from helpdesk.sla.promises import (
    ReplyExpectation,
    queue_lag,
    reply_expectation,
    reply_expectation_text,
)
from helpdesk.sla.tasks import check_deadlines
from tests.sla.support import office_calendar, policy
from tests.support import factories

pytestmark = pytest.mark.django_db

OSLO = ZoneInfo("Europe/Oslo")
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def started(at: datetime = T0) -> Conversation:
    conversation = factories.ConversationFactory()
    timers.sla_on_conversation_created(conversation=conversation, at=at)
    return Conversation.objects.get(pk=conversation.pk)


def test_sla_display_moves_from_ok_to_warning_to_breached():
    policy()
    conversation = started()
    ok = sla_display(conversation, T0 + timedelta(minutes=10))
    assert ok == {
        "state": "ok",
        "target": "first_response",
        "due_at": (T0 + timedelta(minutes=60)).isoformat(),
        "seconds_left": 50 * 60,
    }
    assert sla_display(conversation, T0 + timedelta(minutes=50))["state"] == "warning"
    check_deadlines(now=T0 + timedelta(minutes=61))
    breached = sla_display(Conversation.objects.get(pk=conversation.pk), T0 + timedelta(minutes=61))
    assert breached["state"] == "breached" and breached["target"] == "first_response"
    assert breached["seconds_left"] == -60


def test_sla_display_paused_and_none(django_assert_num_queries):
    policy()
    conversation = started()
    conversation.status = "pending"
    timers.sla_on_status_changed(
        conversation=conversation, old_status="open", new_status="pending", at=T0
    )
    with django_assert_num_queries(0):
        assert sla_display(conversation, T0)["state"] == "paused"
        assert sla_display(factories.ConversationFactory.build(), T0)["state"] == "none"


def test_due_soonest_order_puts_nearest_deadline_first_and_no_deadline_last():
    policy()
    later = started(T0 + timedelta(minutes=5))
    sooner = started(T0)
    without = factories.ConversationFactory()
    ordered = list(
        Conversation.objects.order_by(*SLA_DUE_SOONEST_ORDER).values_list("pk", flat=True)
    )
    assert ordered == [sooner.pk, later.pk, without.pk]


def test_due_soonest_order_keeps_a_recorded_breach_ahead_of_fresh_deadlines():
    policy()
    overdue = started(T0)
    check_deadlines(now=T0 + timedelta(minutes=61))  # records its first-response breach
    fresh = started(T0 + timedelta(minutes=61))  # due T0+121, before overdue's resolution
    ordered = list(
        Conversation.objects.order_by(*SLA_DUE_SOONEST_ORDER).values_list("pk", flat=True)
    )
    assert ordered == [overdue.pk, fresh.pk]


def test_sla_display_target_without_deadline_shows_none():
    conversation = factories.ConversationFactory.build(
        sla_state={"targets": {"first_response": {"cycle": 0, "since": T0.isoformat()}}}
    )
    assert sla_display(conversation, T0)["state"] == "none"


def test_reply_expectation_uses_the_conversations_own_policy_and_stored_deadline(widget_channel):
    policy(first_response_minutes=240)
    urgent = policy(name="Urgent", is_default=False, first_response_minutes=30)
    SLARule.objects.create(policy=urgent, priority=4)
    conversation = factories.ConversationFactory(channel=widget_channel, priority=4)
    timers.sla_on_conversation_created(conversation=conversation, at=T0)
    conversation = Conversation.objects.get(pk=conversation.pk)
    # The channel's made-up conversation would get the 4-hour default policy.
    assert reply_expectation(channel=widget_channel, now=T0).within == timedelta(hours=4)
    expectation = reply_expectation(
        channel=widget_channel, conversation=conversation, now=T0 + timedelta(minutes=10)
    )
    assert expectation.within == timedelta(minutes=20)  # what is left of its own 30 minutes


def test_queue_lag_is_the_median_wait_not_the_longest(widget_channel):
    policy(first_response_minutes=30)
    for hours in (0.5, 1, 2, 500):  # one conversation forgotten for three weeks
        factories.ConversationFactory(
            channel=widget_channel, waiting_since=T0 - timedelta(hours=hours)
        )
    median, lag = queue_lag(channel=widget_channel, now=T0)
    assert lag == timedelta(minutes=90) and median == T0 - lag
    assert reply_expectation(channel=widget_channel, now=T0).within == timedelta(minutes=90)


def test_reply_expectation_after_a_long_closure_gives_the_date(widget_channel):
    calendar = office_calendar(tz="Europe/Oslo")
    Holiday.objects.create(
        calendar=calendar,
        name="Winter break",
        start_date=date(2026, 12, 21),
        end_date=date(2027, 1, 3),
    )
    policy(calendar=calendar)
    friday_evening = datetime(2026, 12, 18, 18, 0, tzinfo=OSLO)
    expectation = reply_expectation(channel=widget_channel, now=friday_evening)
    assert expectation.back_at == datetime(2027, 1, 4, 9, 0, tzinfo=OSLO)
    assert expectation.back_after_long_closure
    assert (
        reply_expectation_text(expectation, language="en")
        == "We're back Monday, Jan. 4, 2027 at 09:00."
    )


def test_reply_expectation_with_a_calendar_that_never_opens_uses_the_channel_setting():
    channel = factories.ChannelFactory(settings={"reply_time_minutes": 45})
    policy(calendar=BusinessCalendar.objects.create(name="Empty"))
    assert reply_expectation(channel=channel, now=T0) == ReplyExpectation(
        within=timedelta(minutes=45)
    )


def test_reply_expectation_uses_policy_target_when_open(widget_channel):
    policy(first_response_minutes=30)
    expectation = reply_expectation(channel=widget_channel, now=T0)
    assert expectation.within == timedelta(minutes=30) and expectation.back_at is None
    assert (
        reply_expectation_text(expectation, language="en") == "We usually reply within 30 minutes."
    )


def test_reply_expectation_stretches_to_the_queue_lag(widget_channel):
    policy(first_response_minutes=30)
    factories.ConversationFactory(channel=widget_channel, waiting_since=T0 - timedelta(hours=3))
    expectation = reply_expectation(channel=widget_channel, now=T0)
    assert expectation.within == timedelta(hours=3)
    assert reply_expectation_text(expectation, language="en") == "We usually reply within 3 hours."


def test_reply_expectation_outside_hours_says_when_we_are_back_in_calendar_time(widget_channel):
    policy(calendar=office_calendar(tz="Europe/Oslo"))
    saturday = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    expectation = reply_expectation(channel=widget_channel, now=saturday)
    assert expectation.back_at == datetime(2026, 11, 23, 9, 0, tzinfo=OSLO)
    assert reply_expectation_text(expectation, language="en") == "We're back Monday at 09:00."


def test_reply_expectation_without_policy_falls_back_to_channel_setting():
    channel = factories.ChannelFactory(settings={"reply_time_minutes": 240})
    assert reply_expectation(channel=channel).within == timedelta(hours=4)


def test_sla_seed_demo_is_idempotent_and_urgent_gets_the_stricter_policy():
    default = sla_seed_demo()
    sla_seed_demo()
    assert BusinessCalendar.objects.count() == 1
    assert SLAPolicy.objects.count() == 2 and SLARule.objects.count() == 1
    assert default.is_default and default.first_response_minutes == 60
    conversation = factories.ConversationFactory(priority=4)
    timers.sla_on_conversation_created(conversation=conversation, at=T0)
    assert Conversation.objects.get(pk=conversation.pk).sla_policy.name == "Urgent"
