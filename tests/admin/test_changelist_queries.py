"""Admin list pages run a constant number of queries, however many rows they show."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.support import factories

pytestmark = pytest.mark.django_db


def make_customer(i: int) -> None:
    customer = factories.CustomerFactory()
    factories.IdentityFactory(customer=customer, kind="email")
    factories.IdentityFactory(customer=customer, kind="phone", address=f"+4790{i:06d}")
    factories.ConversationFactory(customer=customer)


def make_conversation(i: int) -> None:
    agent = factories.AgentFactory()
    team = factories.TeamFactory()
    conversation = factories.ConversationFactory(assignee=agent, team=team)
    conversation.labels.set([factories.LabelFactory(), factories.LabelFactory()])
    factories.MessageFactory(conversation=conversation)


def make_message(i: int) -> None:
    agent = factories.AgentFactory()
    factories.MessageFactory(
        direction="outbound", sender_type="agent", sender_user=agent, delivery_status="sent"
    )


def make_team(i: int) -> None:
    team = factories.TeamFactory()
    team.members.set([factories.AgentFactory(), factories.AgentFactory()])


def make_agent(i: int) -> None:
    agent = factories.AgentFactory()
    factories.TeamFactory().members.add(agent)
    factories.ConversationFactory(assignee=agent)


def make_label(i: int) -> None:
    label = factories.LabelFactory()
    factories.ConversationFactory().labels.add(label)


def make_canned(i: int) -> None:
    factories.CannedResponseFactory(team=factories.TeamFactory())


CASES: list[tuple[str, Callable[[int], None]]] = [
    ("admin:customers_customer_changelist", make_customer),
    ("admin:conversations_conversation_changelist", make_conversation),
    ("admin:conversations_message_changelist", make_message),
    ("admin:agents_team_changelist", make_team),
    ("admin:auth_user_changelist", make_agent),
    ("admin:agents_agentprofile_changelist", make_agent),
    ("admin:conversations_label_changelist", make_label),
    ("admin:conversations_cannedresponse_changelist", make_canned),
    ("admin:customers_contactidentity_changelist", make_customer),
]


def count_queries(client, url: str, expected_rows: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count >= expected_rows
    return len(captured)


@pytest.mark.parametrize(("url_name", "make"), CASES, ids=[c[0].split(":")[1] for c in CASES])
def test_admin_changelist_query_count_is_constant(client, manager, url_name, make):
    client.force_login(manager)
    url = reverse(url_name)
    for i in range(3):
        make(i)
    with_3 = count_queries(client, url, 3)
    for i in range(3, 30):
        make(i)
    with_30 = count_queries(client, url, 30)
    assert with_30 == with_3, f"{url_name}: {with_3} queries for 3 rows, {with_30} for 30"
