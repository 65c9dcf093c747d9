from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from channels_app.widget.languages import catalog
from helpdesk.conversations.models import Message
from helpdesk.conversations.services import message_send_reply, note_create
from helpdesk.customers.models import ContactIdentity, Customer
from helpdesk.inboxes.models import Channel
from helpdesk.sla.promises import reply_expectation, reply_expectation_text
from tests.channels_app.widget.support import WidgetClient, signed_identity
from tests.support import factories

pytestmark = pytest.mark.django_db


def test_session_start_issues_token_and_expectation(shop_channel):
    client = WidgetClient(shop_channel)
    data = client.start(lang="es").json()
    assert data["token"] and data["verified"] is False and data["has_history"] is False
    expected = reply_expectation_text(reply_expectation(channel=shop_channel), language="es")
    assert data["expectation"] == expected
    assert data["lang"] == "es"


def test_session_resumes_the_same_visitor(visitor):
    visitor.send("first")
    again = WidgetClient(visitor.channel)
    again.token = visitor.token
    data = again.start().json()
    assert data["has_history"] is True
    assert again.get("conversations").json()["conversations"]


def test_send_starts_conversation_and_history_shows_it(visitor, events):
    response = visitor.send("Where is my order #1234?")
    assert response.status_code == 201
    body = response.json()
    assert body["created"] is True and body["awaiting_reply"] is True
    assert body["email_known"] is False  # the widget now asks for an email
    assert body["expectation"]
    message = Message.objects.get(pk=body["message"]["id"])
    assert message.direction == "inbound" and message.text == "Where is my order #1234?"
    identity = ContactIdentity.objects.get(customer=message.conversation.customer)
    assert identity.kind == "widget_visitor" and identity.verified is False
    conversations = visitor.get("conversations").json()["conversations"]
    assert [c["id"] for c in conversations] == [message.conversation_id]
    assert conversations[0]["preview"] == "Where is my order #1234?"
    assert "message.created" in events.types()


def test_message_out_carries_the_widget_client_id(visitor, agent):
    sent = visitor.send("Hello", client_id="client-msg-0042").json()["message"]
    assert sent["client_id"] == "client-msg-0042"
    conversation = Message.objects.get(pk=sent["id"]).conversation
    message_send_reply(conversation=conversation, author=agent, text="Hi!")
    listed = visitor.get(f"conversations/{conversation.pk}/messages").json()["messages"]
    assert [m["client_id"] for m in listed] == ["client-msg-0042", ""]


def test_send_retry_with_same_client_id_is_idempotent(visitor):
    first = visitor.send("Hello", client_id="client-msg-0001")
    second = visitor.send("Hello", client_id="client-msg-0001")
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["message"]["id"] == second.json()["message"]["id"]
    assert Message.objects.filter(kind="message").count() == 1


def test_same_client_id_from_two_visitors_are_two_messages(shop_channel, visitor):
    other = WidgetClient(shop_channel)
    other.start()
    a = visitor.send("mine", client_id="same-client-id")
    b = other.send("theirs", client_id="same-client-id")
    assert a.status_code == b.status_code == 201
    assert a.json()["message"]["id"] != b.json()["message"]["id"]
    assert b.json()["message"]["text"] == "theirs"


def test_send_refuses_bad_client_id_and_empty_text(visitor):
    assert visitor.send("hi", client_id="x").status_code == 400
    response = visitor.send("   ")
    assert response.status_code == 400
    assert response.json()["detail"]


def test_messages_history_shows_public_thread_only(visitor, agent):
    sent = visitor.send("Hi").json()["message"]
    conversation = Message.objects.get(pk=sent["id"]).conversation
    note_create(conversation=conversation, author=agent, text="internal: VIP")
    message_send_reply(conversation=conversation, author=agent, text="Hello! <b>Checking</b>")
    data = visitor.get(f"conversations/{conversation.pk}/messages").json()
    assert [m["text"] for m in data["messages"]] == ["Hi", "Hello! <b>Checking</b>"]
    assert [m["sender"] for m in data["messages"]] == ["you", "agent"]
    assert data["messages"][1]["author"]
    caught_up = visitor.get(f"conversations/{conversation.pk}/messages", after=sent["id"]).json()
    assert [m["text"] for m in caught_up["messages"]] == ["Hello! <b>Checking</b>"]


def test_messages_history_pages_back(visitor, monkeypatch):
    from channels_app.widget import selectors

    monkeypatch.setattr(selectors, "PAGE_SIZE", 3)
    ids = [visitor.send(f"m{i}").json()["message"]["id"] for i in range(5)]
    conversation_id = Message.objects.get(pk=ids[0]).conversation_id
    latest = visitor.get(f"conversations/{conversation_id}/messages").json()
    assert [m["id"] for m in latest["messages"]] == ids[2:] and latest["has_more"]
    older = visitor.get(f"conversations/{conversation_id}/messages", before=ids[2]).json()
    assert [m["id"] for m in older["messages"]] == ids[:2] and not older["has_more"]


def test_messages_history_query_count_is_constant(
    visitor, agent, django_assert_max_num_queries
):
    sent = visitor.send("Hi").json()["message"]
    conversation = Message.objects.get(pk=sent["id"]).conversation
    for i in range(10):
        message_send_reply(conversation=conversation, author=agent, text=f"reply {i}")
    with django_assert_max_num_queries(6):
        response = visitor.get(f"conversations/{conversation.pk}/messages")
    assert len(response.json()["messages"]) == 11


def _older_conversations(visitor, count: int) -> list[int]:
    """`count` more conversations of the visitor's customer, each a minute older than the
    last; ids newest first. Three share one timestamp: paging must break ties by id."""
    first = visitor.send("newest").json()["message"]["conversation_id"]
    customer = Message.objects.get(conversation_id=first).conversation.customer
    base = timezone.now() - timedelta(hours=1)
    created = []
    for i in range(count):
        when = base - timedelta(minutes=min(i, 10))
        created.append(
            factories.ConversationFactory(
                customer=customer, channel=visitor.channel, last_activity_at=when
            )
        )
    created.sort(key=lambda c: (c.last_activity_at, c.pk), reverse=True)
    return [first] + [c.pk for c in created]


def test_conversations_list_pages_older_conversations_with_a_cursor(visitor):
    expected = _older_conversations(visitor, 44)  # 45 in all
    first = visitor.get("conversations").json()
    assert [c["id"] for c in first["conversations"]] == expected[:20]
    second = visitor.get("conversations", cursor=first["next_cursor"]).json()
    assert [c["id"] for c in second["conversations"]] == expected[20:40]
    last = visitor.get("conversations", cursor=second["next_cursor"]).json()
    assert [c["id"] for c in last["conversations"]] == expected[40:]
    assert last["next_cursor"] is None


def test_conversations_list_cursor_survives_new_activity(visitor):
    expected = _older_conversations(visitor, 24)
    first = visitor.get("conversations").json()
    # A conversation of the second page gets a message: it moves to the top, and the second
    # page neither repeats rows of the first nor skips any other.
    moved = expected[22]
    visitor.send("news", conversation_id=moved)
    second = visitor.get("conversations", cursor=first["next_cursor"]).json()
    assert [c["id"] for c in second["conversations"]] == [
        pk for pk in expected[20:] if pk != moved
    ]
    assert visitor.get("conversations").json()["conversations"][0]["id"] == moved


def test_conversations_list_refuses_a_cursor_it_did_not_make(visitor):
    for bad in ("abc", "12_x", "-5_3", "\u00b2_1", "9" * 18 + "_1", "1_1 "):
        response = visitor.get("conversations", cursor=bad)
        assert response.status_code == 400, bad
        assert response.json()["code"] == "invalid"


def test_conversations_list_page_is_one_query_for_the_rows(
    visitor, django_assert_max_num_queries
):
    cursor = visitor.get("conversations").json()["next_cursor"]
    assert cursor is None
    _older_conversations(visitor, 30)
    first = visitor.get("conversations").json()
    # channel + customer lookups, then one query for the page whatever its size
    with django_assert_max_num_queries(3):
        response = visitor.get("conversations", cursor=first["next_cursor"])
    assert len(response.json()["conversations"]) == 11


def test_other_visitor_cannot_read_or_write_a_conversation(shop_channel, visitor):
    conversation_id = visitor.send("private").json()["message"]["conversation_id"]
    intruder = WidgetClient(shop_channel)
    intruder.start()
    intruder.send("hello")
    assert intruder.get(f"conversations/{conversation_id}/messages").status_code == 404
    response = intruder.send("sneak", conversation_id=conversation_id)
    assert response.status_code == 403
    assert Message.objects.filter(text="sneak").count() == 0


def test_continuing_a_chosen_conversation(visitor, agent):
    first = visitor.send("one").json()["message"]["conversation_id"]
    response = visitor.send("two", conversation_id=first)
    assert response.json()["message"]["conversation_id"] == first


def test_requests_without_a_valid_token_are_refused(shop_channel):
    client = WidgetClient(shop_channel)
    assert client.get("conversations").status_code == 403
    client.token = "forged:token"
    response = client.get("conversations")
    assert response.status_code == 403 and response.json()["code"] == "bad_token"


def test_verified_customer_sees_same_history_on_another_device(shop_channel):
    laptop = WidgetClient(shop_channel)
    assert laptop.start(identity=signed_identity(shop_channel)).json()["verified"] is True
    conversation_id = laptop.send("from my laptop").json()["message"]["conversation_id"]
    phone = WidgetClient(shop_channel, ip="198.51.100.9")
    data = phone.start(identity=signed_identity(shop_channel)).json()
    assert data["verified"] is True and data["has_history"] is True
    assert [c["id"] for c in phone.get("conversations").json()["conversations"]] == [
        conversation_id
    ]
    customer = Message.objects.get(text="from my laptop").conversation.customer
    kinds = set(customer.identities.values_list("kind", "verified"))
    assert kinds == {("shop_customer", True), ("email", True)}


def test_verified_email_finds_existing_customer_history(shop_channel):
    existing = factories.IdentityFactory(
        kind="email", address="ada@example.com", verified=True
    ).customer
    client = WidgetClient(shop_channel)
    identity = signed_identity(shop_channel, customer_id="")
    assert client.start(identity=identity).json()["verified"] is True
    client.send("hello again")
    assert Message.objects.get(text="hello again").conversation.customer_id == existing.pk


def test_forged_identity_is_refused_and_never_attaches(shop_channel):
    victim = factories.IdentityFactory(kind="email", address="ada@example.com").customer
    factories.ConversationFactory(customer=victim, channel=shop_channel)
    client = WidgetClient(shop_channel)
    forged = {**signed_identity(shop_channel), "signature": "f" * 64}
    response = client.start(identity=forged)
    assert response.status_code == 403 and response.json()["code"] == "bad_signature"
    client.start()  # the widget falls back to an anonymous session
    client.send("hi")
    assert Message.objects.get(text="hi").conversation.customer_id != victim.pk
    assert client.get("conversations").json()["conversations"][0]["preview"] == "hi"


def test_email_is_stored_as_identity_when_free(visitor):
    visitor.send("hi")
    response = visitor.post("email", {"email": "Shopper@Example.com"})
    assert response.json() == {"stored": "identity", "email_known": True}
    customer = Message.objects.get(text="hi").conversation.customer
    assert customer.identities.filter(kind="email", address="shopper@example.com").exists()
    assert visitor.start().json()["email_known"] is True


def test_email_of_another_customer_is_only_noted(visitor):
    owner = factories.IdentityFactory(kind="email", address="taken@example.com").customer
    visitor.send("hi")
    response = visitor.post("email", {"email": "taken@example.com"})
    assert response.json()["stored"] == "attribute"
    customer = Message.objects.get(text="hi").conversation.customer
    assert customer.pk != owner.pk
    assert customer.custom_attributes["widget_email"] == "taken@example.com"
    assert not customer.identities.filter(kind="email").exists()
    assert Customer.objects.get(pk=owner.pk).conversations.count() == 0


def test_email_must_be_valid(visitor):
    visitor.send("hi")
    response = visitor.post("email", {"email": "not an email"})
    assert response.status_code == 400 and response.json()["code"] == "bad_email"


def test_read_marks_agent_replies_read(visitor, agent, events):
    conversation_id = visitor.send("hi").json()["message"]["conversation_id"]
    conversation = Message.objects.get(text="hi").conversation
    reply = message_send_reply(conversation=conversation, author=agent, text="hello")
    response = visitor.post("read", {"conversation_id": conversation_id, "up_to": reply.pk})
    assert response.json()["read"] == [reply.pk]
    reply.refresh_from_db()
    assert reply.delivery_status == "read"
    assert visitor.post("read", {"conversation_id": conversation_id, "up_to": reply.pk}).json()[
        "read"
    ] == []


def test_inactive_or_unknown_channel_is_404(shop_channel):
    Channel.objects.filter(pk=shop_channel.pk).update(is_active=False)
    assert WidgetClient(shop_channel).start().status_code == 404


def test_catalogs_have_the_same_keys_in_every_language():
    english = set(catalog("en")["strings"])
    for language in ("es", "fr", "it", "nb", "ar"):
        strings = catalog(language)["strings"]
        assert set(strings) == english, language
        assert all(value.strip() for value in strings.values())
    assert catalog("ar")["dir"] == "rtl" and catalog("nb-NO")["lang"] == "nb"


def test_widget_script_strings_are_all_in_the_catalogs():
    script = (Path(django_settings.BASE_DIR) / "static" / "widget" / "widget.js").read_text()
    used = set(re.findall(r'\bt\("([a-z_]+)"\)', script))
    assert "older" in used  # the "show older conversations" control
    assert used <= set(catalog("en")["strings"])


def test_catalog_view_serves_language_json(client):
    response = client.get("/widget/i18n/fr.json")
    assert response.status_code == 200
    assert response.json()["strings"]["send"] == "Envoyer"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert client.get("/widget/i18n/xx.json").json()["lang"] == "en"
