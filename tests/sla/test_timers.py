"""Timer rules, driven through the conversation services (and the timer seam with explicit
instants where exact arithmetic matters)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from helpdesk.conversations.models import Conversation, Message
from helpdesk.conversations.services import (
    InboundMessage,
    conversation_add_label,
    conversation_change_status,
    conversation_set_priority,
    conversation_set_team,
    message_receive_inbound,
    message_send_reply,
    note_create,
)
from helpdesk.sla import timers
from helpdesk.sla.models import SLAEvent
from tests.sla.support import office_calendar, policy, rule
from tests.support import factories

pytestmark = pytest.mark.django_db

OSLO = ZoneInfo("Europe/Oslo")
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday


def inbound(
    text: str = "hello", sid: str = "m1", address: str = "a@example.test"
) -> InboundMessage:
    return InboundMessage(
        identity_kind="email", identity_address=address, text=text, external_id=sid
    )


def receive(channel, **kwargs) -> Conversation:
    result = message_receive_inbound(channel=channel, inbound=inbound(**kwargs))
    return Conversation.objects.get(pk=result.message.conversation_id)


def fresh(conversation: Conversation) -> Conversation:
    return Conversation.objects.get(pk=conversation.pk)


def close_to(value: datetime | None, expected: datetime, seconds: float = 5) -> bool:
    return value is not None and abs((value - expected).total_seconds()) < seconds


def test_new_conversation_gets_policy_and_first_response_and_resolution_deadlines(widget_channel):
    standard = policy()
    before = timezone.now()
    conversation = receive(widget_channel)
    assert conversation.sla_policy_id == standard.pk
    assert close_to(conversation.first_response_due_at, before + timedelta(minutes=60))
    assert close_to(conversation.resolution_due_at, before + timedelta(minutes=600))
    assert conversation.next_response_due_at is None
    assert conversation.sla_next_due_at == conversation.first_response_due_at
    assert close_to(conversation.sla_warn_at, before + timedelta(minutes=48))


def test_without_any_policy_no_deadline_is_set(widget_channel):
    conversation = receive(widget_channel)
    assert conversation.sla_policy_id is None
    assert conversation.sla_next_due_at is None and conversation.sla_warn_at is None


def test_business_calendar_deadline_skips_the_weekend():
    standard = policy(calendar=office_calendar(), first_response_business=True)
    conversation = factories.ConversationFactory()
    friday = datetime(2026, 11, 20, 16, 30, tzinfo=OSLO)
    timers.sla_on_conversation_created(conversation=conversation, at=friday)
    conversation = fresh(conversation)
    assert conversation.sla_policy_id == standard.pk
    assert conversation.first_response_due_at == datetime(2026, 11, 23, 9, 30, tzinfo=OSLO)


def test_public_agent_reply_meets_first_response_but_a_note_does_not(widget_channel, agent):
    policy()
    conversation = receive(widget_channel)
    note_create(conversation=conversation, author=agent, text="looking")
    assert fresh(conversation).first_response_due_at is not None
    message_send_reply(conversation=conversation, author=agent, text="Hi!")
    conversation = fresh(conversation)
    assert conversation.first_response_due_at is None
    assert conversation.sla_next_due_at == conversation.resolution_due_at
    met = SLAEvent.objects.get(conversation=conversation, target="first_response")
    assert met.kind == "met" and met.elapsed_seconds is not None
    assert Message.objects.filter(
        conversation=conversation, kind="activity", content_attributes__event="sla_met"
    ).exists()


def test_customer_message_after_reply_starts_next_response_once(widget_channel, agent):
    policy()
    conversation = receive(widget_channel)
    message_send_reply(conversation=conversation, author=agent, text="Hi!")
    before = timezone.now()
    receive(widget_channel, sid="m2")
    due = fresh(conversation).next_response_due_at
    assert close_to(due, before + timedelta(minutes=120))
    receive(widget_channel, sid="m3")  # still waiting: the clock keeps its start
    assert fresh(conversation).next_response_due_at == due
    message_send_reply(conversation=conversation, author=agent, text="Answer")
    assert fresh(conversation).next_response_due_at is None
    receive(widget_channel, sid="m4")
    assert fresh(conversation).next_response_due_at is not None
    cycles = SLAEvent.objects.filter(target="next_response", kind="met").values_list("cycle")
    assert list(cycles) == [(0,)]
    assert fresh(conversation).sla_state["targets"]["next_response"]["cycle"] == 1


def test_pending_pauses_the_clock_and_the_pause_is_not_charged():
    policy()
    conversation = factories.ConversationFactory()
    timers.sla_on_conversation_created(conversation=conversation, at=T0)
    conversation = fresh(conversation)
    conversation.status = "pending"
    timers.sla_on_status_changed(
        conversation=conversation,
        old_status="open",
        new_status="pending",
        at=T0 + timedelta(minutes=10),
    )
    paused = fresh(conversation)
    assert paused.first_response_due_at is None and paused.sla_next_due_at is None
    assert paused.sla_paused_at == T0 + timedelta(minutes=10)
    paused.status = "open"
    timers.sla_on_status_changed(
        conversation=paused, old_status="pending", new_status="open", at=T0 + timedelta(minutes=70)
    )
    resumed = fresh(conversation)
    assert resumed.sla_paused_at is None
    assert resumed.first_response_due_at == T0 + timedelta(minutes=120)
    assert resumed.resolution_due_at == T0 + timedelta(minutes=660)
    assert resumed.sla_warn_at == T0 + timedelta(minutes=108)


def test_snooze_through_services_pauses_and_wake_resumes(widget_channel, agent):
    policy()
    conversation = receive(widget_channel)
    conversation_change_status(
        conversation=conversation,
        status="snoozed",
        by=agent,
        snoozed_until=timezone.now() + timedelta(hours=1),
    )
    snoozed = fresh(conversation)
    assert snoozed.sla_next_due_at is None and snoozed.sla_paused_at is not None
    conversation_change_status(conversation=conversation, status="open", by=agent)
    reopened = fresh(conversation)
    assert reopened.sla_paused_at is None
    assert reopened.first_response_due_at > timezone.now() + timedelta(minutes=59)


def test_resolving_meets_resolution_cancels_first_response_and_reopen_starts_new_cycle(
    widget_channel, agent
):
    policy()
    conversation = receive(widget_channel)
    conversation_change_status(conversation=conversation, status="resolved", by=agent)
    resolved = fresh(conversation)
    assert resolved.sla_next_due_at is None and resolved.first_response_due_at is None
    assert SLAEvent.objects.filter(target="resolution", kind="met").count() == 1
    assert not SLAEvent.objects.filter(target="first_response").exists()
    receive(widget_channel, sid="m2")  # within the reopen window
    reopened = fresh(conversation)
    assert reopened.status == "open"
    assert reopened.resolution_due_at is not None
    assert reopened.sla_state["targets"]["resolution"]["cycle"] == 1


def test_late_reply_records_breach_and_late_completion_once():
    policy()
    conversation = factories.ConversationFactory()
    timers.sla_on_conversation_created(conversation=conversation, at=T0)
    conversation = fresh(conversation)
    timers.sla_on_agent_reply(conversation=conversation, at=T0 + timedelta(minutes=90))
    kinds = set(SLAEvent.objects.filter(target="first_response").values_list("kind", flat=True))
    assert kinds == {"breached", "met_late"}
    late = SLAEvent.objects.get(kind="met_late")
    assert late.elapsed_seconds == 90 * 60
    assert late.business_time is False  # a 24/7 policy
    lines = Message.objects.filter(conversation=conversation, kind="activity")
    events = [m.content_attributes["event"] for m in lines.order_by("pk")]
    assert events == ["sla_breached", "sla_met_late"]  # the console renders `sla_met_late`
    assert lines.get(content_attributes__event="sla_met_late").content_attributes["target"] == (
        "first_response"
    )


def test_every_sla_event_kind_has_a_timeline_line():
    from helpdesk.sla.models import SLAEventKind
    from helpdesk.sla.records import ACTIVITY_TEXT

    assert set(ACTIVITY_TEXT) == set(SLAEventKind)


def test_business_time_completion_records_its_time_mode():
    policy(calendar=office_calendar(), first_response_business=True)
    conversation = factories.ConversationFactory()
    monday = datetime(2026, 11, 23, 9, 0, tzinfo=OSLO)
    timers.sla_on_conversation_created(conversation=conversation, at=monday)
    timers.sla_on_agent_reply(conversation=fresh(conversation), at=monday + timedelta(minutes=5))
    met = SLAEvent.objects.get(target="first_response")
    assert (met.kind, met.elapsed_seconds, met.business_time) == ("met", 300, True)


def test_raising_priority_switches_policy_and_recomputes_deadlines(widget_channel, agent):
    policy()
    urgent = policy(name="Urgent", is_default=False, first_response_minutes=15)
    rule(urgent, priority=4)
    conversation = receive(widget_channel)
    before = fresh(conversation).first_response_due_at
    conversation_set_priority(conversation=conversation, priority=4, by=agent)
    after = fresh(conversation)
    assert after.sla_policy_id == urgent.pk
    assert close_to(after.first_response_due_at, before - timedelta(minutes=45))


def test_pause_then_policy_change_keeps_the_charged_time():
    policy()
    urgent = policy(name="Urgent", is_default=False, first_response_minutes=30)
    rule(urgent, priority=4)
    conversation = factories.ConversationFactory()
    timers.sla_on_conversation_created(conversation=conversation, at=T0)
    conversation = fresh(conversation)
    conversation.priority = 4
    timers.sla_on_attributes_changed(conversation=conversation, at=T0 + timedelta(minutes=10))
    assert fresh(conversation).first_response_due_at == T0 + timedelta(minutes=30)


def test_rules_apply_in_order_by_team_label_channel_and_customer_attribute(widget_channel, agent):
    policy()
    team = factories.TeamFactory()
    label = factories.LabelFactory(name="vip")
    by_team = policy(name="Team", is_default=False)
    by_label = policy(name="Label", is_default=False)
    by_channel = policy(name="Channel", is_default=False)
    by_attribute = policy(name="Attribute", is_default=False)
    rule(by_label, position=1, label=label)
    rule(by_team, position=2, team=team)
    rule(by_attribute, position=3, customer_attribute="plan", customer_attribute_value="gold")
    rule(by_channel, position=4, channel=widget_channel)

    conversation = receive(widget_channel)
    assert conversation.sla_policy_id == by_channel.pk
    customer = conversation.customer
    customer.custom_attributes = {"plan": "gold"}
    customer.save()
    conversation_set_team(conversation=conversation, team=team, by=agent)
    assert fresh(conversation).sla_policy_id == by_team.pk
    conversation_add_label(conversation=fresh(conversation), label=label, by=agent)
    assert fresh(conversation).sla_policy_id == by_label.pk
    conversation_set_team(conversation=conversation, team=None, by=agent)
    assert fresh(conversation).sla_policy_id == by_label.pk
    other = receive(factories.ChannelFactory(), sid="x1", address="b@example.test")
    assert other.sla_policy_id not in {by_channel.pk, by_label.pk}


def test_timers_cost_one_query_when_no_policy_exists(widget_channel, django_assert_num_queries):
    conversation = factories.ConversationFactory(channel=widget_channel)
    with django_assert_num_queries(1):
        timers.sla_on_customer_message(conversation=conversation, at=T0)
    with django_assert_num_queries(0):
        timers.sla_on_agent_reply(conversation=conversation, at=T0)


def test_customer_attribute_rule_matches_the_customers_value():
    policy()
    gold = policy(name="Gold", is_default=False, first_response_minutes=10)
    rule(gold, customer_attribute="plan", customer_attribute_value="gold")
    customer = factories.CustomerFactory(custom_attributes={"plan": "gold"})
    conversation = factories.ConversationFactory(customer=customer)
    timers.sla_on_conversation_created(conversation=conversation, at=T0)
    assert fresh(conversation).first_response_due_at == T0 + timedelta(minutes=10)
    plain = factories.ConversationFactory()
    timers.sla_on_conversation_created(conversation=plain, at=T0)
    assert fresh(plain).first_response_due_at == T0 + timedelta(minutes=60)


def test_holiday_range_from_admin_model_closes_those_days():
    from helpdesk.sla.models import Holiday

    calendar = office_calendar()
    Holiday.objects.create(
        calendar=calendar,
        name="Week off",
        start_date=date(2026, 11, 23),
        end_date=date(2026, 11, 25),
    )
    policy(calendar=calendar)
    conversation = factories.ConversationFactory()
    friday = datetime(2026, 11, 20, 16, 30, tzinfo=OSLO)
    timers.sla_on_conversation_created(conversation=conversation, at=friday)
    assert fresh(conversation).first_response_due_at == datetime(2026, 11, 26, 9, 30, tzinfo=OSLO)


def test_customer_attribute_change_reevaluates_live_conversations(widget_channel):
    from helpdesk.customers.services import customer_update

    policy()
    vip = policy(name="VIP", is_default=False, first_response_minutes=10)
    rule(vip, customer_attribute="tier", customer_attribute_value="gold")
    conversation = receive(widget_channel)
    assert fresh(conversation).sla_policy_id != vip.pk
    customer_update(customer=conversation.customer, custom_attributes={"tier": "gold"})
    assert fresh(conversation).sla_policy_id == vip.pk
