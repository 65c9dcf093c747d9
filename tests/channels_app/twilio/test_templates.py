"""WhatsApp templates: offered outside the window, sent with Content SID and variables."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app import tasks as channel_tasks
from channels_app.models import WhatsAppTemplate
from channels_app.twilio.templates import template_reply_attributes, templates_for_channel
from helpdesk.conversations.services import message_send_reply, reply_window_remaining
from helpdesk.core.errors import DomainError
from tests.support import factories

pytestmark = pytest.mark.django_db



def test_templates_for_channel_lists_active_ones(template, wa_channel, django_assert_num_queries):
    WhatsAppTemplate.objects.create(
        channel=wa_channel, name="old", content_sid="HX" + "d" * 32, is_active=False
    )
    with django_assert_num_queries(1):
        assert [t.name for t in templates_for_channel(wa_channel)] == ["order_update"]


def test_template_reply_outside_window_reaches_twilio(fake_twilio, wa_channel, template):
    customer = factories.CustomerFactory()
    factories.IdentityFactory(customer=customer, kind="whatsapp", address="+4790000011")
    conversation = factories.ConversationFactory(
        customer=customer,
        channel=wa_channel,
        last_inbound_at=timezone.now() - timedelta(hours=48),
    )
    assert reply_window_remaining(conversation) <= timedelta(0)
    text, attrs = template_reply_attributes(
        template=template, values={"name": "Kari", "order": "#1042"}
    )
    assert text == "Hi Kari, order #1042 has shipped."
    message = message_send_reply(
        conversation=conversation, author=None, text=text, content_attributes=attrs
    )
    channel_tasks.deliver_message(message.pk)
    (request,) = fake_twilio.creates()
    assert request.value("ContentSid") == template.content_sid
    assert json.loads(request.value("ContentVariables")) == {"name": "Kari", "order": "#1042"}
    message.refresh_from_db()
    assert message.delivery_status == "queued"


def test_template_reply_refuses_missing_or_unknown_variables(template):
    with pytest.raises(DomainError) as error:
        template_reply_attributes(template=template, values={"name": "Kari", "coupon": "X"})
    assert "order" in error.value.message and "coupon" in error.value.message
