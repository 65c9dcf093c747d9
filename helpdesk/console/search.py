"""Inbox search over message text and customers.

PostgreSQL: full-text search. Each row is matched with the `simple` configuration (exact
words, any language) and with the Snowball configuration of the customer's language, so
"refunds" finds "refund" for an English customer and "remboursements" finds "remboursement"
for a French one. SQLite: a case-insensitive substring fallback. Names, phone numbers and
email addresses are matched as substrings on both (they are not words).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Case, CharField, Exists, OuterRef, Q, QuerySet, Value, When

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


def language_config(field: str) -> Case:
    """A per-row regconfig name from a locale column ("fr-CA" -> "french"; unknown -> simple)."""
    return Case(
        *[
            When(**{f"{field}__istartswith": code}, then=Value(cfg))
            for code, cfg in LANGUAGE_CONFIGS.items()
        ],
        default=Value("simple"),
        output_field=CharField(),
    )


def _postgres_message_match(query: str) -> Q:
    from django.contrib.postgres.search import SearchQuery

    config = language_config("conversation__customer__locale")
    return Q(_fts_simple=SearchQuery(query, config="simple", search_type="plain")) | Q(
        _fts_lang=SearchQuery(query, config=config, search_type="plain")
    )


def _matching_messages(query: str) -> QuerySet[Message]:
    messages = Message.objects.filter(
        conversation=OuterRef("pk"), kind__in=[MessageKind.MESSAGE, MessageKind.NOTE]
    )
    if settings.DATABASE_IS_POSTGRES:
        from django.contrib.postgres.search import SearchVector

        config = language_config("conversation__customer__locale")
        return messages.annotate(
            _fts_simple=SearchVector("text", config="simple"),
            _fts_lang=SearchVector("text", config=config),
        ).filter(_postgres_message_match(query))
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
