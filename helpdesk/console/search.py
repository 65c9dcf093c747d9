"""Inbox search over message text and customers.

PostgreSQL: full-text search over a GIN-indexed document per message, which a trigger builds
with the `simple` configuration (exact words, any language) and the Snowball configuration of
the customer's language, so "refunds" finds "refund" for an English customer and
"remboursements" finds "remboursement" for a French one. SQLite: a case-insensitive
substring fallback. Names, phone numbers and email addresses are matched as substrings on both
(they are not words).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet

from helpdesk.conversations.models import Conversation, Message, MessageKind
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
# The query is stemmed in the product's languages only: every document also holds its exact
# words (`simple`), so a customer writing in another language is still found by the word.
QUERY_CONFIGS = ("arabic", "english", "french", "italian", "norwegian", "spanish")


def _postgres_query(query: str) -> Any:
    """The words of `query` in `simple` and in each product language, OR-ed: a message matches
    when its stored document (its own language plus `simple`) shares any form."""
    from django.contrib.postgres.search import SearchQuery

    combined = SearchQuery(query, config="simple", search_type="plain")
    for config in QUERY_CONFIGS:
        combined |= SearchQuery(query, config=config, search_type="plain")
    return combined


def _conversations_by_message(query: str) -> QuerySet[Message]:
    messages = Message.objects.filter(kind__in=[MessageKind.MESSAGE, MessageKind.NOTE])
    if settings.DATABASE_IS_POSTGRES:
        # `search_document` is kept by a trigger and GIN-indexed (migration 0003).
        messages = messages.filter(search_document=_postgres_query(query))
    else:
        messages = _sqlite_contains(messages, "text", query)
    return messages.order_by().values("conversation_id")


def _sqlite_contains(queryset: QuerySet[Any], field: str, query: str) -> QuerySet[Any]:
    """Unicode case-insensitive substring match on SQLite (see helpdesk.core.sqlite)."""
    return queryset.annotate(_folded=Casefold(field)).filter(_folded__contains=query.casefold())


def _icontains(queryset: QuerySet[Any], field: str, query: str) -> QuerySet[Any]:
    if settings.DATABASE_IS_POSTGRES:  # ILIKE-style, served by the trigram indexes
        return queryset.filter(**{f"{field}__icontains": query})
    return _sqlite_contains(queryset, field, query)


def _conversations_by_customer(query: str) -> QuerySet[Conversation]:
    """By customer name or any contact address (trigram-indexed on PostgreSQL)."""
    names = _icontains(Customer.objects.all(), "name", query).order_by().values("pk")
    addresses = _icontains(ContactIdentity.objects.all(), "address", query).values("customer_id")
    return (
        Conversation.objects.filter(Q(customer_id__in=names) | Q(customer_id__in=addresses))
        .order_by()
        .values("pk")
    )


def search_conversations(queryset: QuerySet[Conversation], query: str) -> QuerySet[Conversation]:
    """Conversations whose messages or customer match `query` (one query, no duplicates).

    The matching ids are one UNION of index-driven reads (the GIN document index, the trigram
    indexes), joined once: the database never searches again per conversation."""
    query = query.strip()[:MAX_QUERY_LENGTH]
    if not query:
        return queryset
    matching = _conversations_by_message(query).union(_conversations_by_customer(query))
    return queryset.filter(pk__in=matching)
