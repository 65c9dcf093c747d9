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
from django.db.models import Exists, OuterRef, Q, QuerySet

from helpdesk.conversations.models import Conversation, Message, MessageKind
from helpdesk.customers.models import ContactIdentity

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


def _postgres_query(query: str) -> Any:
    """The words of `query` in `simple` and in every configured language, OR-ed: a message
    matches when its stored document (its own language plus `simple`) shares any form."""
    from django.contrib.postgres.search import SearchQuery

    combined = SearchQuery(query, config="simple", search_type="plain")
    for config in sorted(set(LANGUAGE_CONFIGS.values())):
        combined |= SearchQuery(query, config=config, search_type="plain")
    return combined


def _matching_messages(query: str) -> QuerySet[Message]:
    messages = Message.objects.filter(
        conversation=OuterRef("pk"), kind__in=[MessageKind.MESSAGE, MessageKind.NOTE]
    )
    if settings.DATABASE_IS_POSTGRES:
        # `search_document` is kept by a trigger and GIN-indexed (migration 0003).
        return messages.filter(search_document=_postgres_query(query))
    return messages.filter(text__icontains=query)


def search_conversations(queryset: QuerySet[Conversation], query: str) -> QuerySet[Conversation]:
    """Conversations whose messages or customer match `query` (one query, no duplicates)."""
    query = query.strip()[:MAX_QUERY_LENGTH]
    if not query:
        return queryset
    identities = ContactIdentity.objects.filter(
        customer=OuterRef("customer_id"), address__icontains=query
    )
    customer_match = Q(customer__name__icontains=query) | Q(Exists(identities))
    return queryset.filter(Q(Exists(_matching_messages(query))) | customer_match)
