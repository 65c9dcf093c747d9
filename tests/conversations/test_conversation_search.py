"""The per-conversation search document (migration 0006): PostgreSQL triggers keep it in step
with the conversation's messages and notes."""

from __future__ import annotations

import pytest

from helpdesk.conversations.models import ConversationSearch, Message
from tests.support import factories

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _words(conversation) -> set[str]:
    row = ConversationSearch.objects.filter(conversation=conversation).first()
    return set() if row is None else set(row.document.replace("'", "").split())


def test_conversation_search_holds_the_words_of_messages_and_notes():
    conversation = factories.ConversationFactory(customer=factories.CustomerFactory(locale="en"))
    factories.MessageFactory(conversation=conversation, text="My parcels are late")
    factories.MessageFactory(conversation=conversation, text="Shoes", kind="note")
    factories.MessageFactory(conversation=conversation, text="Assigned to Kim", kind="activity")

    words = _words(conversation)
    assert {"parcels", "parcel", "late", "shoes"} <= words  # exact words and English stems
    assert "kim" not in words  # activity lines are not searched


def test_conversation_search_forgets_edited_and_deleted_text():
    conversation = factories.ConversationFactory()
    first = factories.MessageFactory(conversation=conversation, text="umbrella")
    factories.MessageFactory(conversation=conversation, text="raincoat")

    first.text = "scarf"
    first.save()
    assert "umbrella" not in _words(conversation) and "scarf" in _words(conversation)
    first.delete()
    assert _words(conversation) == {"raincoat"}
    Message.objects.filter(conversation=conversation).delete()
    assert not ConversationSearch.objects.filter(conversation=conversation).exists()


def test_conversation_search_follows_a_message_to_another_conversation():
    source, target = factories.ConversationFactory(), factories.ConversationFactory()
    moved = factories.MessageFactory(conversation=source, text="umbrella")
    factories.MessageFactory(conversation=source, text="raincoat")

    Message.objects.filter(pk=moved.pk).update(conversation=target)

    assert _words(source) == {"raincoat"} and _words(target) == {"umbrella"}


def test_conversation_search_goes_with_its_conversation():
    conversation = factories.ConversationFactory()
    factories.MessageFactory(conversation=conversation, text="umbrella")
    conversation.delete()
    assert not ConversationSearch.objects.exists()
