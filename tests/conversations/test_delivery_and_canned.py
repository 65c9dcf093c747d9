from __future__ import annotations

import pytest

from helpdesk.conversations.models import delivery_status_moves_forward
from helpdesk.conversations.services import (
    canned_for_agent,
    canned_render,
    canned_variables,
    message_update_delivery_status,
)
from tests.support import factories

pytestmark = pytest.mark.django_db


def outbound(**kwargs):
    return factories.MessageFactory(
        direction="outbound", sender_type="agent", delivery_status="pending", **kwargs
    )


@pytest.mark.parametrize(
    ("current", "new", "moves"),
    [
        ("pending", "queued", True),
        ("queued", "sent", True),
        ("sent", "delivered", True),
        ("delivered", "read", True),
        ("read", "delivered", False),
        ("delivered", "sent", False),
        ("sent", "failed", True),
        ("failed", "delivered", False),
        ("undelivered", "failed", False),
        ("read", "read", False),
        ("sent", "bogus", False),
    ],
)
def test_delivery_status_moves_forward(current, new, moves):
    assert delivery_status_moves_forward(current, new) is moves


def test_message_update_delivery_status_ignores_backward_moves(events):
    message = outbound()
    message_update_delivery_status(message_id=message.pk, status="delivered", external_id="SM9")
    message, changed = message_update_delivery_status(message_id=message.pk, status="sent")
    assert not changed
    assert message.delivery_status == "delivered" and message.external_id == "SM9"
    inbox_updates = [
        e
        for e in events.all()
        if e["type"] == "message.updated" and e["group"].startswith("inbox.")
    ]
    assert len(inbox_updates) == 1


def test_message_update_delivery_status_failure_notifies_assignee(agent, events):
    conversation = factories.ConversationFactory(assignee=agent)
    message = outbound(conversation=conversation)
    message, changed = message_update_delivery_status(
        message_id=message.pk,
        status="failed",
        error_code="21610",
        error_message="The customer has opted out.",
    )
    assert changed and message.error_code == "21610"
    failed = [e for e in events.all() if e.get("kind") == "delivery_failed"]
    assert failed and failed[0]["group"] == f"agent.{agent.pk}"


def test_canned_render_fills_known_variables_and_keeps_unknown(agent):
    customer = factories.CustomerFactory(name="Lucía Pérez")
    factories.IdentityFactory(customer=customer, kind="email", address="lucia@example.test")
    conversation = factories.ConversationFactory(customer=customer)
    variables = canned_variables(conversation=conversation, agent=agent)
    text = canned_render(
        "Hola {{customer.first_name}} ({{ customer.email }}), soy {{agent.name}}. {{order.id}}",
        variables,
    )
    assert text == (
        f"Hola Lucía (lucia@example.test), soy {agent.agent_profile.display_name}. {{{{order.id}}}}"
    )


def test_canned_for_agent_returns_global_and_own_team_only(agent):
    mine, other = factories.TeamFactory(), factories.TeamFactory()
    mine.members.add(agent)
    factories.CannedResponseFactory(shortcut="hello")
    factories.CannedResponseFactory(shortcut="returns", team=mine)
    factories.CannedResponseFactory(shortcut="secret", team=other)
    assert [c.shortcut for c in canned_for_agent(agent)] == ["hello", "returns"]
