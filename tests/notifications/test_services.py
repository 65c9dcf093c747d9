from __future__ import annotations

import pytest

from helpdesk.conversations.services import conversation_assign, message_update_delivery_status
from helpdesk.notifications.models import Notification
from helpdesk.notifications.services import (
    notification_create,
    notification_mark_read,
    notification_mark_read_for_conversation,
)
from helpdesk.notifications.texts import notification_text
from tests.support import factories

pytestmark = pytest.mark.django_db


def failed_reply(conversation):
    message = factories.MessageFactory(
        conversation=conversation,
        direction="outbound",
        sender_type="agent",
        delivery_status="sent",
    )
    message, _ = message_update_delivery_status(
        message_id=message.pk,
        status="failed",
        error_code="21610",
        error_message="The customer has opted out.",
    )
    return message


def test_notification_create_is_idempotent_per_recipient_and_key(agent, events):
    conversation = factories.ConversationFactory()
    first = notification_create(
        recipient_ids=[agent.pk, agent.pk], kind="assigned", key="k1", conversation=conversation
    )
    again = notification_create(
        recipient_ids=[agent.pk], kind="assigned", key="k1", conversation=conversation
    )
    assert len(first) == 1 and again == []
    assert Notification.objects.count() == 1
    announced = [e for e in events.all() if e["type"] == "notification.created"]
    assert len(announced) == 1 and announced[0]["group"] == f"agent.{agent.pk}"


def test_delivery_failure_notifies_the_assignee_with_the_reason(agent):
    conversation = factories.ConversationFactory(assignee=agent)
    message = failed_reply(conversation)
    failed_reply_again = message_update_delivery_status(
        message_id=message.pk, status="failed", error_code="21610"
    )
    assert failed_reply_again[1] is False
    notification = Notification.objects.get()
    assert notification.recipient == agent and notification.kind == "delivery_failed"
    assert "opted out" in notification_text(notification)


def test_delivery_failure_without_assignee_reaches_the_team_then_managers(agent):
    manager = factories.ManagerFactory()
    team = factories.TeamFactory()
    team.members.add(agent)
    failed_reply(factories.ConversationFactory(team=team))
    failed_reply(factories.ConversationFactory())
    rows = sorted(Notification.objects.values_list("recipient_id", "conversation__team_id"))
    assert rows == sorted([(agent.pk, team.pk), (manager.pk, None)])


def test_assignment_by_someone_else_notifies_the_assignee_once(agent):
    manager = factories.ManagerFactory()
    conversation = factories.ConversationFactory()
    conversation_assign(conversation=conversation, assignee=agent, by=manager)
    conversation_assign(conversation=conversation, assignee=agent, by=agent)  # no change
    notification = Notification.objects.get()
    assert notification.recipient == agent
    assert manager.agent_profile.display_name in notification_text(notification)


def test_notification_mark_read_all_and_per_conversation(agent, events):
    one, two = factories.ConversationFactory(), factories.ConversationFactory()
    for i, conversation in enumerate((one, two, two)):
        notification_create(
            recipient_ids=[agent.pk], kind="sla_warning", key=f"w{i}", conversation=conversation
        )
    assert notification_mark_read_for_conversation(user=agent, conversation=two) == 2
    assert notification_mark_read(user=agent) == 1
    assert notification_mark_read(user=agent) == 0
    assert "notification.read" in events.types()
