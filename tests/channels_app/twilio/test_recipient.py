"""Replies go to the address the customer last wrote from on the channel."""

from __future__ import annotations

import pytest

from channels_app import tasks as channel_tasks
from helpdesk.conversations.models import Message
from helpdesk.customers.models import Customer
from helpdesk.customers.services import customer_merge
from tests.channels_app.twilio.support import agent_reply, inbound_url, payload, post_webhook

pytestmark = pytest.mark.django_db

FIRST, SECOND = "+4790000101", "+4790000102"


def customer_writes(client, channel, number: str, n: int) -> Message:
    sid = f"SM{n:032d}"
    params = payload("sms", From=number, MessageSid=sid, SmsMessageSid=sid, SmsSid=sid)
    assert post_webhook(client, inbound_url(channel), params).status_code == 200
    return Message.objects.get(channel=channel, external_id=sid)


@pytest.mark.parametrize("last_number", [FIRST, SECOND])
def test_reply_to_merged_customer_goes_to_number_last_written_from(
    client, fake_twilio, sms_channel, last_number
):
    first = customer_writes(client, sms_channel, FIRST, 1).conversation.customer
    second = customer_writes(client, sms_channel, SECOND, 2).conversation.customer
    customer_merge(source=second, target=first)  # one person, two phone numbers
    latest = customer_writes(client, sms_channel, last_number, 3)
    assert latest.conversation.customer_id == first.pk
    channel_tasks.deliver_message(agent_reply(latest.conversation).pk)
    (create,) = fake_twilio.creates()
    assert create.value("To") == last_number


def test_reply_without_inbound_message_uses_newest_identity(client, fake_twilio, sms_channel):
    first = customer_writes(client, sms_channel, FIRST, 4).conversation
    Message.objects.filter(conversation=first).delete()  # e.g. an agent-started conversation
    customer = Customer.objects.get(pk=first.customer_id)
    customer.identities.create(kind="phone", address=SECOND)
    channel_tasks.deliver_message(agent_reply(first).pk)
    (create,) = fake_twilio.creates()
    assert create.value("To") == SECOND
