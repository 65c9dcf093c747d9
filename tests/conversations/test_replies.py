from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.conversations.models import Conversation, Message
from helpdesk.conversations.services import (
    InboundMessage,
    message_receive_inbound,
    message_send_reply,
    note_create,
    reply_window_remaining,
)
from helpdesk.core.errors import DeliveryRefused, DomainError
from helpdesk.customers.models import ChannelOptOut
from tests.support import factories

pytestmark = pytest.mark.django_db


def inbound(channel, sid="M1", kind="email", address="shopper@example.test"):
    return message_receive_inbound(
        channel=channel,
        inbound=InboundMessage(
            identity_kind=kind, identity_address=address, text="Where is my order?", external_id=sid
        ),
    ).message.conversation


def test_message_send_reply_persists_and_enqueues_delivery_after_commit(
    widget_channel, agent, django_capture_on_commit_callbacks, events
):
    conversation = inbound(widget_channel)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = message_send_reply(conversation=conversation, author=agent, text="On its way!")
    assert message.delivery_status == "pending"
    assert callbacks, "delivery and events must wait for commit"
    for callback in callbacks:
        callback()  # jobs run synchronously under tests: the widget adapter marks it sent
    message.refresh_from_db()
    assert message.delivery_status == "sent"
    conversation.refresh_from_db()
    assert conversation.waiting_since is None
    assert conversation.first_response_at is not None
    assert conversation.assignee_id == agent.pk  # an unassigned conversation goes to the replier
    assert {"message.created", "message.updated", "conversation.updated"} <= set(events.types())


def test_message_send_reply_is_idempotent_on_client_id(widget_channel, agent):
    conversation = inbound(widget_channel)
    first = message_send_reply(conversation=conversation, author=agent, text="Hi", client_id="c-1")
    second = message_send_reply(conversation=conversation, author=agent, text="Hi", client_id="c-1")
    assert first.pk == second.pk
    assert Message.objects.filter(direction="outbound").count() == 1


def test_message_send_reply_keeps_first_response_time(widget_channel, agent):
    conversation = inbound(widget_channel)
    message_send_reply(conversation=conversation, author=agent, text="one")
    first = Conversation.objects.get(pk=conversation.pk).first_response_at
    message_send_reply(conversation=conversation, author=agent, text="two")
    assert Conversation.objects.get(pk=conversation.pk).first_response_at == first


def test_message_send_reply_refuses_empty_and_too_long(agent):
    sms = factories.ChannelFactory(kind="sms")
    conversation = inbound(sms, kind="phone", address="+4790000009")
    with pytest.raises(DomainError):
        message_send_reply(conversation=conversation, author=agent, text="   ")
    with pytest.raises(DomainError):
        message_send_reply(conversation=conversation, author=agent, text="x" * 1601)


def test_message_send_reply_refuses_opted_out_customer(agent):
    sms = factories.ChannelFactory(kind="sms")
    conversation = inbound(sms, kind="phone", address="+4790000010")
    ChannelOptOut.objects.create(
        customer=conversation.customer, channel=sms, opted_out_at=timezone.now()
    )
    with pytest.raises(DeliveryRefused) as error:
        message_send_reply(conversation=conversation, author=agent, text="hello?")
    assert error.value.code == "opted_out"


def test_message_send_reply_whatsapp_window(agent):
    wa = factories.ChannelFactory(kind="whatsapp")
    conversation = inbound(wa, kind="whatsapp", address="+4790000011")
    assert timedelta(hours=23) < reply_window_remaining(conversation) <= timedelta(hours=24)
    Conversation.objects.filter(pk=conversation.pk).update(
        last_inbound_at=timezone.now() - timedelta(hours=25)
    )
    conversation.refresh_from_db()
    with pytest.raises(DeliveryRefused) as error:
        message_send_reply(conversation=conversation, author=agent, text="free form")
    assert error.value.code == "outside_window"
    template = message_send_reply(
        conversation=conversation,
        author=agent,
        text="",
        content_attributes={"template": {"content_sid": "HX1", "variables": {"1": "Ana"}}},
    )
    assert template.pk


def test_note_create_is_private_and_does_not_answer_the_customer(widget_channel, agent, events):
    conversation = inbound(widget_channel)
    note = note_create(conversation=conversation, author=agent, text="VIP, be nice")
    assert note.kind == "note" and not note.is_public
    conversation.refresh_from_db()
    assert conversation.waiting_since is not None
    assert conversation.first_response_at is None
    visitor_events = [e for e in events.all() if e["group"].startswith("visitor.")]
    assert all(e["message_id"] != note.pk for e in visitor_events)
