"""Inbox search over message text and customers.

PostgreSQL: full-text search. A trigger builds a document per message with the `simple`
configuration (exact words, any language) and the Snowball configuration of the customer's
language, so "refunds" finds "refund" for an English customer and "remboursements" finds
"remboursement" for a French one; more triggers keep the union of those words per conversation
(`ConversationSearch`, GIN-indexed), so a conversation is tested once however many of its
messages match. SQLite: a case-insensitive substring fallback over messages. Names, phone
numbers and email addresses are matched as substrings on both (they are not words).

A search first asks how many conversations and customers match, up to RARE_MATCHES each (one
query, after one that finds the forms of the words). Few: the page filters on those ids, served
by primary-key and customer indexes. Many: the page walks the inbox's own order and tests each
conversation's document, which fills a page after a few dozen rows because matches are dense.
Counting stops at COUNT_CAP + 1 either way (the console says "more than 1,000"), so no search
counts or sorts every match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import BooleanField, F, Func, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Cast

from helpdesk.conversations.models import (
    Conversation,
    ConversationSearch,
    Message,
    MessageKind,
)
from helpdesk.core.sqlite import Casefold
from helpdesk.customers.models import ContactIdentity, Customer

# Customer.locale prefix -> PostgreSQL text search configuration (all ship with PostgreSQL 12+).
LANGUAGE_CONFIGS: dict[str, str] = {
    "en": "english",
    "es": "spanish",
    "fr": "french",
    "it": "italian",
    "nb": "norwegian",
    "no": "norwegian",
    "nn": "norwegian",
    "ar": "arabic",
    "de": "german",
    "pt": "portuguese",
    "nl": "dutch",
    "sv": "swedish",
    "da": "danish",
}
MAX_QUERY_LENGTH = 200
# Counting matching conversations stops past this many: the console shows "1,000+".
COUNT_CAP = 1000
# Up to this many matching conversations (and, separately, customers) the page filters on their
# ids; past it the page walks the inbox order instead (see the module docstring).
RARE_MATCHES = 1000
# The query is stemmed in the product's languages only: every document also holds its exact
# words (`simple`), so a customer writing in another language is still found by the word.
QUERY_CONFIGS = ("arabic", "english", "french", "italian", "norwegian", "spanish")


def _postgres_query(query: str) -> Any:
    """The words of `query` in `simple` and in each product language, OR-ed: a document matches
    when it shares any form. Each distinct form appears once (one query): the same word in seven
    configurations would make the planner think it seven times as common. None when `query` has
    no words."""
    from django.contrib.postgres.search import SearchQueryField

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT plainto_tsquery(c::regconfig, %s)::text FROM unnest(%s::text[]) AS c",
            [query, ["simple", *QUERY_CONFIGS]],
        )
        forms = sorted(form for (form,) in cursor.fetchall() if form)
    if not forms:
        return None
    # Cast, not to_tsquery(): the forms are already normalized and must stay as they are.
    return Cast(Value(" | ".join(f"( {form} )" for form in forms)), SearchQueryField())


def _sqlite_contains(queryset: QuerySet[Any], field: str, query: str) -> QuerySet[Any]:
    """Unicode case-insensitive substring match on SQLite (see helpdesk.core.sqlite)."""
    return queryset.annotate(_folded=Casefold(field)).filter(_folded__contains=query.casefold())


def _icontains(queryset: QuerySet[Any], field: str, query: str) -> QuerySet[Any]:
    if settings.DATABASE_IS_POSTGRES:  # ILIKE-style, served by the trigram indexes
        return queryset.filter(**{f"{field}__icontains": query})
    return _sqlite_contains(queryset, field, query)


def _customers_by_name(query: str) -> QuerySet[Customer]:
    return _icontains(Customer.objects.all(), "name", query).order_by()


def _customers_by_address(query: str) -> QuerySet[ContactIdentity]:
    return _icontains(ContactIdentity.objects.all(), "address", query).order_by()


def _sqlite_condition(query: str) -> Q:
    """Message text, customer name or address as substrings; one UNION of ids, joined once."""
    messages = Message.objects.filter(kind__in=[MessageKind.MESSAGE, MessageKind.NOTE])
    by_message = _sqlite_contains(messages, "text", query).order_by().values("conversation_id")
    names = _customers_by_name(query).values("pk")
    addresses = _customers_by_address(query).values("customer_id")
    by_customer = (
        Conversation.objects.filter(Q(customer_id__in=names) | Q(customer_id__in=addresses))
        .order_by()
        .values("pk")
    )
    return Q(pk__in=by_message.union(by_customer))


class _Matches(Func):
    """`document @@ query` for any expression on the left (Django's lookup wants a column)."""

    arg_joiner = " @@ "
    template = "(%(expressions)s)"
    output_field = BooleanField()


@dataclass(frozen=True)
class InboxSearch:
    """One search, planned: `narrow` filters an inbox queryset to the matching conversations,
    `count` counts them (for the paginator) up to COUNT_CAP + 1.

    `condition` is the filter; `word_condition` and `customer_condition`, when
    set, are its two halves as PostgreSQL counts them: separately, each through its own index,
    then united."""

    query: str
    condition: Q | None  # None: nothing can match
    word_condition: Q | None = None
    customer_condition: Q | None = None

    def narrow(self, queryset: QuerySet[Conversation]) -> QuerySet[Conversation]:
        if self.condition is None:
            return queryset.none()
        return queryset.filter(self.condition)

    def count(self, queryset: QuerySet[Conversation]) -> int:
        """Matching conversations within `queryset` (the inbox filters), at most COUNT_CAP + 1
        (one query)."""
        if self.condition is None:
            return 0
        limit = COUNT_CAP + 1
        halves = [c for c in (self.word_condition, self.customer_condition) if c is not None]
        if not halves:
            return self.narrow(queryset).order_by().values("pk")[:limit].count()
        # Each half reads its own index and stops at `limit`; the UNION drops conversations
        # found by both. An OR of the two in one query would test every conversation.
        counted = [queryset.filter(h).order_by().values("pk")[:limit] for h in halves]
        if len(counted) == 1:
            return counted[0].count()
        return counted[0].union(counted[1]).count()


def _postgres_search(query: str) -> InboxSearch:
    """Ask (one query) for up to RARE_MATCHES + 1 conversations matching the words and as many
    customers matching by name or address, then choose how the page filters (module docstring)."""
    words = _postgres_query(query)
    probe_limit = RARE_MATCHES + 1
    by_words = (
        ConversationSearch.objects.filter(_Matches(F("document"), words))
        .order_by()
        .annotate(source=Value("w"))
        .values_list("source", "conversation_id")[:probe_limit]
    )
    by_name = (_customers_by_name(query).annotate(source=Value("c")).values_list("source", "pk"))[
        :probe_limit
    ]
    by_address = (
        _customers_by_address(query)
        .annotate(source=Value("c"))
        .values_list("source", "customer_id")
    )[:probe_limit]
    arms = [by_name, by_address] if words is None else [by_words, by_name, by_address]
    rows = list(arms[0].union(*arms[1:], all=True))
    conversation_ids = [ref for source, ref in rows if source == "w"]
    customer_ids = sorted({ref for source, ref in rows if source == "c"})

    if len(customer_ids) > RARE_MATCHES:  # a broad name or address fragment: let the database join
        names = _customers_by_name(query).values("pk")
        addresses = _customers_by_address(query).values("customer_id")
        customer_condition: Q | None = Q(customer_id__in=names.union(addresses))
    else:
        customer_condition = Q(customer_id__in=customer_ids) if customer_ids else None

    if len(conversation_ids) > RARE_MATCHES:
        # Dense: test each conversation's document, row by row in the inbox order, until the
        # page is full. A scalar subquery, because PostgreSQL would turn a join or EXISTS into
        # reading every match first (and planning a join here costs more than running it).
        document = Subquery(
            ConversationSearch.objects.filter(conversation_id=OuterRef("pk")).values("document")[:1]
        )
        page_words: Q | None = Q(_Matches(document, words))
        word_condition: Q | None = Q(_Matches(F("search__document"), words))
    else:
        page_words = word_condition = Q(pk__in=conversation_ids) if conversation_ids else None
    if page_words is None and customer_condition is None:
        return InboxSearch(query=query, condition=None)
    if page_words is None or customer_condition is None:
        condition = page_words or customer_condition
    else:
        condition = page_words | customer_condition
    return InboxSearch(
        query=query,
        condition=condition,
        word_condition=word_condition,
        customer_condition=customer_condition,
    )


def inbox_search(query: str) -> InboxSearch | None:
    """Plan a search for `query` (None for a blank query). PostgreSQL: two queries (the words'
    forms, then the probe); SQLite: none."""
    query = query.strip()[:MAX_QUERY_LENGTH]
    if not query:
        return None
    if settings.DATABASE_IS_POSTGRES:
        return _postgres_search(query)
    return InboxSearch(query=query, condition=_sqlite_condition(query))
