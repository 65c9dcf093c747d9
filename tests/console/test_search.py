"""Inbox search: each conversation once, in the inbox order, a count that stops at COUNT_CAP,
and a constant number of queries however many conversations match. The PostgreSQL tests run
both of its plans (ids for rare words, a walk in inbox order for common ones) by moving
RARE_MATCHES."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from helpdesk.console import search, selectors
from helpdesk.console.selectors import InboxFilters, inbox_page
from helpdesk.conversations.models import Conversation, ConversationSearch, Message
from tests.support import factories

pytestmark = pytest.mark.django_db

# visible channels + count + rows + labels; PostgreSQL adds the query's forms and the probe.
SEARCH_QUERIES = 6 if settings.DATABASE_IS_POSTGRES else 4


@pytest.fixture(params=["rare", "walk"])
def plan(request, monkeypatch) -> str:
    """Both PostgreSQL plans: "walk" makes every word common (SQLite has one plan)."""
    if request.param == "walk":
        monkeypatch.setattr(search, "RARE_MATCHES", 0)
    return request.param


@pytest.fixture
def cap(monkeypatch) -> int:
    monkeypatch.setattr(search, "COUNT_CAP", 5)
    monkeypatch.setattr(selectors, "COUNT_CAP", 5)
    return 5


def _matching(n: int, *, word: str = "parcel", channel=None, **kwargs) -> list[Conversation]:
    """`n` conversations whose activity is one minute apart, newest first."""
    channel = channel or factories.ChannelFactory()
    now = timezone.now()
    made = []
    for i in range(n):
        conversation = factories.ConversationFactory(
            channel=channel, last_activity_at=now - timedelta(minutes=i), **kwargs
        )
        factories.MessageFactory(conversation=conversation, text=f"Where is my {word}?")
        conversation.labels.add(factories.LabelFactory())
        made.append(conversation)
    return made


def _ids(page) -> list[int]:
    return [c.pk for c in page.object_list]


@pytest.mark.parametrize("matches", [3, 30])
def test_inbox_page_search_query_count_constant_whatever_the_matches(
    agent, plan, matches, django_assert_num_queries
):
    _matching(matches, assignee=agent)
    factories.MessageFactory(text="Nothing to see")
    with django_assert_num_queries(SEARCH_QUERIES):
        page = inbox_page(agent, InboxFilters(query="parcel"), page_size=25)
        for c in page.object_list:
            _ = (c.customer.name, c.channel.name, [x.name for x in c.labels.all()])
            _ = c.assignee.agent_profile.display_name
    assert page.paginator.count == matches


def test_inbox_page_search_lists_each_conversation_once_newest_activity_first(agent, plan):
    made = _matching(7)
    for conversation in made[:3]:  # more matching messages change nothing
        factories.MessageFactory(conversation=conversation, text="The parcel, again")
        factories.MessageFactory(conversation=conversation, text="parcel parcel", kind="note")
    factories.MessageFactory(text="An unrelated question")

    pages = [
        inbox_page(agent, InboxFilters(query="parcel"), page=n, page_size=3) for n in (1, 2, 3)
    ]

    listed = [pk for page in pages for pk in _ids(page)]
    assert listed == [c.pk for c in made]
    assert pages[0].paginator.count == 7 and not pages[0].paginator.capped
    assert not pages[2].has_next()


def test_inbox_page_search_keeps_the_filters_and_sorts(agent, plan):
    now = timezone.now()
    open_old, open_new = _matching(2)
    Conversation.objects.filter(pk=open_new.pk).update(waiting_since=now - timedelta(hours=1))
    Conversation.objects.filter(pk=open_old.pk).update(waiting_since=now - timedelta(hours=5))
    _matching(2, status="resolved")
    mine = _matching(1, assignee=agent)[0]

    def ids(**kwargs) -> list[int]:
        return _ids(inbox_page(agent, InboxFilters(query="parcel", **kwargs)))

    assert set(ids()) == {open_old.pk, open_new.pk, mine.pk}  # open only, by default
    assert len(ids(status=None)) == 5
    assert ids(view="mine") == [mine.pk]
    assert ids(sort="waiting")[:2] == [open_old.pk, open_new.pk]
    page = inbox_page(agent, InboxFilters(query="parcel", status="resolved"))
    assert page.paginator.count == 2


def test_inbox_page_search_counts_a_conversation_found_twice_once(agent, plan):
    customer = factories.CustomerFactory(name="Parcelia Jones")
    by_both = factories.ConversationFactory(customer=customer)
    factories.MessageFactory(conversation=by_both, text="My parcel is late")
    by_name = factories.ConversationFactory(customer=customer)
    factories.MessageFactory(conversation=by_name, text="Hello")
    by_word = _matching(1)[0]

    page = inbox_page(agent, InboxFilters(query="parcel", status=None))

    assert sorted(_ids(page)) == sorted([by_both.pk, by_name.pk, by_word.pk])
    assert page.paginator.count == 3


def test_inbox_page_search_count_stops_at_the_cap(agent, plan, cap):
    made = _matching(cap + 3)

    first = inbox_page(agent, InboxFilters(query="parcel"), page=1, page_size=2)
    last = inbox_page(agent, InboxFilters(query="parcel"), page=3, page_size=2)

    assert first.paginator.capped and first.paginator.count == cap
    assert first.paginator.num_pages == 3
    assert _ids(first) == [made[0].pk, made[1].pk]
    assert _ids(last) == [made[4].pk] and not last.has_next()


def test_inbox_page_search_count_is_exact_up_to_the_cap(agent, plan, cap):
    _matching(cap)
    page = inbox_page(agent, InboxFilters(query="parcel"))
    assert page.paginator.count == cap and not page.paginator.capped


def test_inbox_page_search_without_matches_lists_nothing(agent, plan):
    _matching(2)
    page = inbox_page(agent, InboxFilters(query="zyxwvut"))
    assert _ids(page) == [] and page.paginator.count == 0
    assert _ids(inbox_page(agent, InboxFilters(query="!!!"))) == []


def test_inbox_shows_the_capped_count(signed_in, cap):
    _matching(cap + 3)
    page = signed_in.get(reverse("console:inbox"), {"q": "parcel", "page_size": 2})
    html = page.content.decode()
    assert f"More than {cap} conversations" in html
    assert "Only the first" not in html  # on the last page only
    last = signed_in.get(reverse("console:inbox"), {"q": "parcel", "page_size": 2, "page": 3})
    assert f"Only the first {cap} are listed" in last.content.decode()


def test_inbox_shows_the_exact_count_below_the_cap(signed_in, cap):
    _matching(1)
    html = signed_in.get(reverse("console:inbox"), {"q": "parcel"}).content.decode()
    assert "1 conversation<" in html and "More than" not in html
    _matching(2)
    html = signed_in.get(reverse("console:inbox"), {"q": "parcel"}).content.decode()
    assert "3 conversations<" in html
    assert "result-count" not in signed_in.get(reverse("console:inbox")).content.decode()


def test_inbox_capped_count_is_translated(signed_in, agent, cap):
    agent.agent_profile.language = "ar"
    agent.agent_profile.save(update_fields=["language"])
    _matching(cap + 1)
    page = signed_in.get(reverse("console:inbox"), {"q": "parcel"}, HTTP_ACCEPT_LANGUAGE="ar")
    html = page.content.decode()
    assert 'dir="rtl"' in html
    assert "More than" not in html and "أكثر من 5 محادثة" in html


@pytest.mark.postgres
def test_conversation_search_follows_its_messages(agent):
    conversation = factories.ConversationFactory()
    first = factories.MessageFactory(conversation=conversation, text="My parcel is late")
    factories.MessageFactory(conversation=conversation, text="A note on shoes", kind="note")
    factories.MessageFactory(conversation=conversation, text="Assigned to jacket", kind="activity")

    def found(word: str) -> bool:
        return conversation.pk in _ids(inbox_page(agent, InboxFilters(query=word)))

    assert found("parcel") and found("shoes") and not found("jacket")
    first.text = "My umbrella is late"
    first.save()
    assert found("umbrella") and not found("parcel")
    first.delete()
    assert not found("umbrella") and found("shoes")
    Message.objects.filter(conversation=conversation).delete()
    assert not ConversationSearch.objects.filter(conversation=conversation).exists()


@pytest.mark.postgres
def test_conversation_search_uses_its_gin_index(agent):
    _matching(1)
    words = search._postgres_query("parcel")
    found = ConversationSearch.objects.filter(search._Matches(search.F("document"), words))
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # tiny table: make the choice visible
        plan = found.explain()
    assert "conversation_search" in plan
    assert found.count() == 1


@pytest.mark.postgres
def test_search_query_names_each_form_once():
    words = search._postgres_query("retour")
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::tsquery::text", [words.source_expressions[0].value])
        (text,) = cursor.fetchone()
    assert text == "'retour'"
    assert search._postgres_query("!!!") is None
