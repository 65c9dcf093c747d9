"""Twilio's less common message statuses (api.v2010 message_enum_status): accepted,
partially_delivered and canceled."""

from __future__ import annotations

import pytest

from channels_app import tasks as channel_tasks
from channels_app.models import TwilioStatusEvent
from tests.channels_app.twilio.support import (
    agent_reply,
    make_channel,
    twilio_calls_back,
    twilio_conversation,
)
from tests.support.fake_twilio import Reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(fake_twilio, wa_channel):
    message = agent_reply(twilio_conversation(wa_channel))
    channel_tasks.deliver_message(message.pk)
    (create,) = fake_twilio.creates()
    return message, create


def test_status_accepted_is_queued_and_never_moves_back(client, fake_twilio, public_base):
    # A Messaging Service answers `accepted` until it has picked a sender.
    channel = make_channel("sms", sender="", messaging_service_sid="MG" + "2" * 32)
    fake_twilio.script(Reply.created("accepted"))
    message = agent_reply(twilio_conversation(channel, address="+4790000031"))
    channel_tasks.deliver_message(message.pk)
    message.refresh_from_db()
    assert message.delivery_status == "queued"
    (create,) = fake_twilio.creates()
    twilio_calls_back(client, create, "sent")
    assert twilio_calls_back(client, create, "accepted").status_code == 204
    message.refresh_from_db()
    assert message.delivery_status == "sent"
    assert TwilioStatusEvent.objects.filter(message_sid=create.sid, status="accepted").exists()


def test_status_partially_delivered_counts_as_delivered(client, sent):
    message, create = sent
    twilio_calls_back(client, create, "partially_delivered")
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("delivered", "")


def test_status_canceled_fails_with_a_reason(client, sent, events):
    message, create = sent
    twilio_calls_back(client, create, "canceled")
    twilio_calls_back(client, create, "delivered")  # nothing moves a final status
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("failed", "canceled")
    assert "canceled before Twilio sent it" in message.error_message
    assert "delivery_failed" in [e.get("kind") for e in events.all()]
