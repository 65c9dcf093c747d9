from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.console.selectors import (
    InboxFilters,
    inbox_page,
    nav_counts,
    visible_channel_ids,
)
from helpdesk.console.services import conversation_mark_read
from helpdesk.conversations.models import Conversation
from tests.support import factories

pytestmark = pytest.mark.django_db


def _conversation(channel=None, **kwargs) -> Conversation:
    conversation = factories.ConversationFactory(
        channel=channel or factories.ChannelFactory(), **kwargs
    )
    factories.MessageFactory(conversation=conversation, text="Where is my parcel?")
    conversation.labels.add(factories.LabelFactory())
    return conversation


def test_visible_channel_ids_only_active_channels_for_agents(agent):
    active = factories.ChannelFactory()
    factories.ChannelFactory(is_active=False)
    assert visible_channel_ids(agent) == [active.pk]
    assert visible_channel_ids(factories.UserFactory()) == []


def test_inbox_page_query_count_constant_whatever_page_size(agent, django_assert_num_queries):
    channel = factories.ChannelFactory()
    for _ in range(30):
        _conversation(channel, assignee=agent)
    # visible channels + count + rows + labels prefetch
    for size in (5, 25):
        with django_assert_num_queries(4):
            page = inbox_page(agent, InboxFilters(view="all", status=None), page_size=size)
            assert len(page.object_list) == size
            for c in page.object_list:
                _ = (c.customer.name, c.channel.name, [x.name for x in c.labels.all()])
                _ = c.assignee.agent_profile.display_name


def test_inbox_page_views_mine_unassigned_all(agent):
    other = factories.AgentFactory()
    mine = _conversation(assignee=agent)
    theirs = _conversation(assignee=other)
    nobody = _conversation()

    def ids(view: str) -> set[int]:
        return {c.pk for c in inbox_page(agent, InboxFilters(view=view)).object_list}

    assert ids("mine") == {mine.pk}
    assert ids("unassigned") == {nobody.pk}
    assert ids("all") == {mine.pk, theirs.pk, nobody.pk}


def test_inbox_page_filters_by_team_channel_status_label(agent):
    team = factories.TeamFactory()
    a = _conversation(team=team)
    b = _conversation(status="pending")
    label = a.labels.first()

    def ids(**kw) -> set[int]:
        return {c.pk for c in inbox_page(agent, InboxFilters(**kw)).object_list}

    assert ids(team_id=team.pk) == {a.pk}
    assert ids(channel_id=b.channel_id, status=None) == {b.pk}
    assert ids(status="pending") == {b.pk}
    assert ids(label=label.name) == {a.pk}


def test_inbox_page_sorts(agent):
    now = timezone.now()
    old_wait = _conversation(waiting_since=now - timedelta(hours=5), last_activity_at=now)
    new_wait = _conversation(
        waiting_since=now - timedelta(hours=1), last_activity_at=now + timedelta(minutes=1)
    )
    due = _conversation(sla_next_due_at=now + timedelta(minutes=5))

    def order(sort: str) -> list[int]:
        return [c.pk for c in inbox_page(agent, InboxFilters(sort=sort)).object_list]

    assert order("newest")[0] == new_wait.pk
    assert order("waiting")[:2] == [old_wait.pk, new_wait.pk]
    assert order("due")[0] == due.pk


def test_inbox_page_unread_and_awaiting_markers(agent):
    conversation = _conversation(waiting_since=timezone.now())
    (row,) = inbox_page(agent, InboxFilters()).object_list
    assert row.is_unread and row.awaiting_reply
    last = conversation.messages.order_by("-id").first()
    conversation_mark_read(user=agent, conversation=conversation, message_id=last.pk)
    (row,) = inbox_page(agent, InboxFilters()).object_list
    assert not row.is_unread


def test_conversation_mark_read_never_moves_backwards(agent):
    conversation = _conversation()
    conversation_mark_read(user=agent, conversation=conversation, message_id=10)
    conversation_mark_read(user=agent, conversation=conversation, message_id=5)
    assert conversation.reads.get().last_read_message_id == 10


def test_inbox_search_finds_messages_and_customers(agent):
    parcel = _conversation()
    other = factories.ConversationFactory(customer=factories.CustomerFactory(name="Ingrid Bergman"))
    factories.MessageFactory(conversation=other, text="Hello")
    factories.IdentityFactory(customer=other.customer, address="ingrid@example.test")

    def ids(q: str) -> set[int]:
        return {c.pk for c in inbox_page(agent, InboxFilters(query=q)).object_list}

    assert ids("parcel") == {parcel.pk}
    assert ids("bergman") == {other.pk}
    assert ids("ingrid@example") == {other.pk}
    assert ids("nothing-like-this") == set()


def test_inbox_search_ignores_case_beyond_ascii(agent):
    conversation = factories.ConversationFactory(customer=factories.CustomerFactory(name="Åse Ørn"))
    factories.MessageFactory(conversation=conversation, text="Le CAFÉ est arrivé froid")

    def ids(q: str) -> set[int]:
        return {c.pk for c in inbox_page(agent, InboxFilters(query=q)).object_list}

    assert ids("café") == {conversation.pk}
    assert ids("ÅSE") == {conversation.pk}
    assert ids("ørn") == {conversation.pk}


@pytest.mark.postgres
def test_inbox_search_uses_the_customers_language_on_postgres(agent):
    customer = factories.CustomerFactory(locale="en")
    conversation = factories.ConversationFactory(customer=customer)
    factories.MessageFactory(conversation=conversation, text="I want refunds for the shoes")
    french = factories.ConversationFactory(customer=factories.CustomerFactory(locale="fr-FR"))
    factories.MessageFactory(conversation=french, text="Je voudrais des remboursements")

    def ids(q: str) -> set[int]:
        return {c.pk for c in inbox_page(agent, InboxFilters(query=q)).object_list}

    assert ids("refund") == {conversation.pk}  # English stemming
    assert ids("remboursement") == {french.pk}  # French stemming
    assert ids("shoes") == {conversation.pk}
    assert ids("voudrais") == {french.pk}  # exact words in any language (simple)


def test_nav_counts_unread_per_view_in_one_query(agent, django_assert_num_queries):
    _conversation(assignee=agent)
    _conversation()
    read = _conversation()
    conversation_mark_read(
        user=agent, conversation=read, message_id=read.messages.order_by("-id").first().pk
    )
    with django_assert_num_queries(2):  # visible channels + one aggregate
        counts = nav_counts(agent)
    assert counts == {"mine": 1, "unassigned": 1, "all": 2}
