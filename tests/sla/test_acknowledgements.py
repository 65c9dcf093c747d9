from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from helpdesk.conversations.models import Message
from helpdesk.conversations.services import (
    InboundMessage,
    message_receive_inbound,
    message_send_reply,
)
from helpdesk.customers.models import ChannelOptOut
from helpdesk.sla.acknowledgements import acknowledgement_send
from helpdesk.sla.models import Acknowledgement
from tests.support import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def sms_channel():
    # Email: its delivery needs no network in tests, so on-commit jobs can run for real.
    return factories.ChannelFactory(
        kind="email", settings={"auto_acknowledge": True, "reply_time_minutes": 120}
    )


def receive(channel, sid, capture, locale="", phone="kari@example.test"):
    with capture(execute=True):
        return message_receive_inbound(
            channel=channel,
            inbound=InboundMessage(
                identity_kind="email",
                identity_address=phone,
                text="Hei, hvor er pakken min?",
                external_id=sid,
                locale=locale,
            ),
        ).message


def bot_messages():
    return list(Message.objects.filter(sender_type="bot").order_by("id"))


def test_acknowledgement_sent_once_per_period_in_customer_language(
    sms_channel, django_capture_on_commit_callbacks
):
    first = receive(sms_channel, "SM1", django_capture_on_commit_callbacks, locale="nb")
    receive(sms_channel, "SM2", django_capture_on_commit_callbacks, locale="nb")
    acks = bot_messages()
    assert len(acks) == 1
    assert acks[0].conversation_id == first.conversation_id
    assert acks[0].content_attributes["automatic"] == "acknowledgement"
    assert acks[0].text == "Vi svarer vanligvis innen 2 timer."
    conversation = first.conversation
    conversation.refresh_from_db()
    assert conversation.waiting_since is not None, "an acknowledgement is not an answer"
    assert conversation.first_response_at is None


def test_acknowledgement_again_after_the_period(sms_channel, django_capture_on_commit_callbacks):
    receive(sms_channel, "SM1", django_capture_on_commit_callbacks)
    Acknowledgement.objects.update(sent_at=timezone.now() - timedelta(hours=25))
    receive(sms_channel, "SM2", django_capture_on_commit_callbacks)
    assert len(bot_messages()) == 2


def test_acknowledgement_job_twice_sends_once(sms_channel, django_capture_on_commit_callbacks):
    message = receive(sms_channel, "SM1", django_capture_on_commit_callbacks)
    assert acknowledgement_send(trigger_message_id=message.pk) is None
    assert len(bot_messages()) == 1


def test_acknowledgement_never_to_opted_out_or_answered(
    sms_channel, agent, django_capture_on_commit_callbacks
):
    message = receive(sms_channel, "SM1", django_capture_on_commit_callbacks)
    Message.objects.filter(sender_type="bot").delete()
    Acknowledgement.objects.all().delete()
    ChannelOptOut.objects.create(
        customer=message.conversation.customer, channel=sms_channel, opted_out_at=timezone.now()
    )
    assert acknowledgement_send(trigger_message_id=message.pk) is None
    ChannelOptOut.objects.all().delete()
    message_send_reply(conversation=message.conversation, author=agent, text="Hi!")
    assert acknowledgement_send(trigger_message_id=message.pk) is None
    assert bot_messages() == []


def test_acknowledgement_off_by_default_and_not_on_widget(django_capture_on_commit_callbacks):
    plain_sms = factories.ChannelFactory(kind="sms")
    widget = factories.ChannelFactory(kind="web_widget", settings={"auto_acknowledge": True})
    receive(plain_sms, "SM1", django_capture_on_commit_callbacks)
    message = receive(widget, "W1", django_capture_on_commit_callbacks, phone="ola@example.test")
    assert acknowledgement_send(trigger_message_id=message.pk) is None
    assert bot_messages() == []
