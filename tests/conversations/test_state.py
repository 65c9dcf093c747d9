from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.conversations.models import STATUS_TRANSITIONS, ConversationStatus
from helpdesk.conversations.services import (
    conversation_add_label,
    conversation_assign,
    conversation_change_status,
    conversation_set_labels,
    conversation_set_priority,
    conversation_set_team,
    conversations_wake_snoozed,
)
from helpdesk.core.errors import DomainError, IllegalTransition
from tests.support import factories

pytestmark = pytest.mark.django_db


def activity_events(conversation) -> list[str]:
    return list(
        conversation.messages.filter(kind="activity")
        .order_by("id")
        .values_list("content_attributes__event", flat=True)
    )


def test_conversation_assign_records_activity_and_notifies_assignee(agent, manager, events):
    conversation = factories.ConversationFactory()
    conversation_assign(conversation=conversation, assignee=agent, by=manager)
    conversation.refresh_from_db()
    assert conversation.assignee_id == agent.pk
    assert activity_events(conversation) == ["assigned"]
    notes = [e for e in events.all() if e.get("kind") == "assigned"]
    assert notes and notes[0]["group"] == f"agent.{agent.pk}"


def test_conversation_assign_same_agent_is_noop(agent):
    conversation = factories.ConversationFactory(assignee=agent)
    conversation_assign(conversation=conversation, assignee=agent, by=agent)
    assert activity_events(conversation) == []


def test_conversation_assign_refuses_non_agents(agent):
    plain_user = factories.UserFactory()
    with pytest.raises(DomainError):
        conversation_assign(
            conversation=factories.ConversationFactory(), assignee=plain_user, by=agent
        )


def test_conversation_unassign(agent):
    conversation = factories.ConversationFactory(assignee=agent)
    conversation_assign(conversation=conversation, assignee=None, by=agent)
    conversation.refresh_from_db()
    assert conversation.assignee_id is None
    assert activity_events(conversation) == ["unassigned"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (old, new)
        for old in ConversationStatus.values
        for new in ConversationStatus.values
        if old != new and new not in STATUS_TRANSITIONS[old]
    ],
)
def test_conversation_change_status_illegal_moves_raise(agent, old, new):
    conversation = factories.ConversationFactory(status=old)
    with pytest.raises(IllegalTransition):
        conversation_change_status(
            conversation=conversation,
            status=new,
            by=agent,
            snoozed_until=timezone.now() + timedelta(hours=1),
        )
    conversation.refresh_from_db()
    assert conversation.status == old


def test_conversation_change_status_resolve_and_reopen(agent):
    conversation = factories.ConversationFactory()
    conversation_change_status(conversation=conversation, status="resolved", by=agent)
    conversation.refresh_from_db()
    assert conversation.status == "resolved" and conversation.resolved_at is not None
    conversation_change_status(conversation=conversation, status="open", by=agent)
    conversation.refresh_from_db()
    assert conversation.status == "open" and conversation.resolved_at is None
    assert activity_events(conversation) == ["status_changed", "status_changed"]


def test_conversation_change_status_unknown_status_raises(agent):
    with pytest.raises(IllegalTransition):
        conversation_change_status(
            conversation=factories.ConversationFactory(), status="archived", by=agent
        )


def test_conversation_snooze_needs_future_time_and_wakes_up(agent):
    conversation = factories.ConversationFactory()
    with pytest.raises(DomainError):
        conversation_change_status(conversation=conversation, status="snoozed", by=agent)
    soon = timezone.now() + timedelta(minutes=5)
    conversation_change_status(
        conversation=conversation, status="snoozed", by=agent, snoozed_until=soon
    )
    assert conversations_wake_snoozed(now=timezone.now()) == 0
    assert conversations_wake_snoozed(now=soon + timedelta(seconds=1)) == 1
    assert conversations_wake_snoozed(now=soon + timedelta(seconds=2)) == 0  # twice is harmless
    conversation.refresh_from_db()
    assert conversation.status == "open"
    assert activity_events(conversation)[-1] == "snooze_ended"


def test_conversation_priority_team_labels(agent):
    conversation = factories.ConversationFactory()
    team = factories.TeamFactory()
    vip, refund = factories.LabelFactory(name="vip"), factories.LabelFactory(name="refund")
    conversation_set_priority(conversation=conversation, priority=4, by=agent)
    conversation_set_team(conversation=conversation, team=team, by=agent)
    conversation_set_labels(conversation=conversation, labels=[vip, refund], by=agent)
    conversation_add_label(conversation=conversation, label=vip, by=agent)  # already there
    conversation_set_labels(conversation=conversation, labels=[vip], by=agent)
    conversation.refresh_from_db()
    assert conversation.priority == 4 and conversation.team_id == team.pk
    assert [label.name for label in conversation.labels.all()] == ["vip"]
    assert activity_events(conversation) == [
        "priority_changed",
        "team_changed",
        "labels_changed",
        "labels_changed",
    ]
    last = conversation.messages.filter(kind="activity").order_by("-id").first()
    assert last.content_attributes["removed"] == ["refund"]
    with pytest.raises(DomainError):
        conversation_set_priority(conversation=conversation, priority=9, by=agent)


def test_resolving_ends_the_wait_and_a_new_message_starts_a_new_one(agent):
    from helpdesk.conversations.services import message_receive_inbound
    from helpdesk.conversations.services.inbound import InboundMessage

    channel = factories.ChannelFactory()

    def write(sid: str):
        return message_receive_inbound(
            channel=channel,
            inbound=InboundMessage(
                identity_kind="email", identity_address="w@example.test", text="hi", external_id=sid
            ),
        ).message.conversation

    conversation = write("w1")
    first_wait = conversation.waiting_since
    assert first_wait is not None
    conversation = conversation_change_status(
        conversation=conversation, status="resolved", by=agent
    )
    assert conversation.waiting_since is None
    again = write("w2")
    again.refresh_from_db()
    assert again.waiting_since is not None and again.waiting_since > first_wait

