"""NUL and lone surrogates from a page are dropped or replaced, never a 400 over an invisible
character and never a 500 from the database (PostgreSQL refuses NUL in text and jsonb)."""

from __future__ import annotations

import uuid

import pytest

from helpdesk.conversations.models import Attachment, Message
from helpdesk.customers.models import Customer
from tests.channels_app.widget.support import PNG, WidgetClient, signed_identity

pytestmark = pytest.mark.django_db


def post_raw_json(visitor: WidgetClient, path: str, body: str):
    """Send `body` as written: json.dumps would not let a test spell a lone `\\ud800`."""
    return visitor.client.post(
        visitor.url(path), body, content_type="application/json", headers=visitor._headers()
    )


def message_with_nul_and_lone_surrogate(visitor: WidgetClient):
    client_id = uuid.uuid4().hex
    body = '{"client_id": "%s", "text": "Order\\u0000 #12\\ud800 late", "lang": "e\\u0000n"}'
    return post_raw_json(visitor, "messages", body % client_id)


def test_widget_message_with_nul_and_lone_surrogate_is_stored_clean(visitor):
    response = message_with_nul_and_lone_surrogate(visitor)
    assert response.status_code == 201, response.content
    message = Message.objects.get(pk=response.json()["message"]["id"])
    assert message.text == "Order #12\ufffd late"
    assert response.json()["message"]["text"] == "Order #12\ufffd late"
    assert message.conversation.customer.locale == "en"


def test_widget_message_of_nul_only_is_a_clear_400(visitor):
    response = visitor.send("\x00\x00")
    assert response.status_code == 400
    assert response.json()["code"] == "empty"
    assert not Message.objects.exists()


def test_widget_upload_with_nul_in_text_and_file_name_is_stored_clean(visitor):
    response = visitor.upload(PNG, "pho\x00to.png", "image/png", text="the da\x00mage")
    assert response.status_code == 201, response.content
    attachment = Attachment.objects.get()
    assert attachment.message.text == "the damage"
    assert attachment.filename == "photo.png"


def test_widget_session_identity_name_with_nul_is_stored_clean(shop_channel):
    client = WidgetClient(shop_channel)
    identity = signed_identity(shop_channel, name="Ada\x00 Love\ud800lace")
    response = client.start(identity=identity)
    assert response.status_code == 200, response.content
    assert response.json()["verified"] is True
    assert Customer.objects.get().name == "Ada Love\ufffdlace"


def test_widget_identifiers_with_nul_are_refused_with_400(shop_channel, visitor):
    visitor.send("Hello")  # the email step needs a customer
    email = visitor.post("email", {"email": "ada\x00@example.com"})
    assert email.status_code == 400 and email.json()["code"] == "invalid"
    other = WidgetClient(shop_channel)
    identity = signed_identity(shop_channel, customer_id="shop-42")
    identity["customer_id"] = "shop\x00-42"
    assert other.start(identity=identity).status_code == 400


@pytest.mark.postgres
def test_widget_message_with_nul_and_lone_surrogate_is_stored_on_postgres(visitor):
    response = message_with_nul_and_lone_surrogate(visitor)
    assert response.status_code == 201, response.content
    message = Message.objects.get(pk=response.json()["message"]["id"])
    assert message.text == "Order #12\ufffd late"
    # jsonb too: the message's attributes and the event log row were written in the same go.
    assert message.content_attributes["widget_client_id"]
    history = visitor.get(f"conversations/{message.conversation_id}/messages").json()
    assert [m["text"] for m in history["messages"]] == ["Order #12\ufffd late"]


def test_widget_message_send_cleans_text_and_file_names_itself(shop_channel):
    from channels_app.widget.identity import new_visitor
    from channels_app.widget.services import widget_message_send
    from helpdesk.conversations.services import InboundAttachment

    result = widget_message_send(
        channel=shop_channel,
        session=new_visitor(shop_channel),
        text="a\x00b\udfff",
        client_id=uuid.uuid4().hex,
        attachments=(
            InboundAttachment(
                content_type="image/png", filename="x\x00.png", content=PNG, size=len(PNG)
            ),
        ),
    )
    assert result.message.text == "ab\ufffd"
    assert result.message.attachments.get().filename == "x.png"
