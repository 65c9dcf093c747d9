"""The console's template picker: offered once the WhatsApp window has closed; the send goes
through the reply service with the template's Content SID and variables."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from channels_app.models import WhatsAppTemplate
from helpdesk.conversations.models import Message
from tests.support import factories

pytestmark = pytest.mark.django_db

FETCH = {"HTTP_X_RELAY_FETCH": "1"}


@pytest.fixture
def closed_conversation(wa_channel):
    customer = factories.CustomerFactory(name="Kari Nordmann")
    factories.IdentityFactory(customer=customer, kind="whatsapp", address="+4790000012")
    return factories.ConversationFactory(
        customer=customer, channel=wa_channel, last_inbound_at=timezone.now() - timedelta(hours=30)
    )



def test_pane_offers_the_picker_once_the_window_is_closed(client, agent, closed_conversation):
    client.force_login(agent)
    html = client.get(reverse("console:conversation", args=[closed_conversation.pk])).content
    picker_url = reverse("twilio:template_picker", args=[closed_conversation.pk])
    assert picker_url.encode() in html
    assert b'data-window-seconds="0"' in html or b'data-window-seconds="-' in html


def test_picker_lists_templates_with_prefilled_known_variables(
    client, agent, closed_conversation, template
):
    client.force_login(agent)
    url = reverse("twilio:template_picker", args=[closed_conversation.pk])
    html = client.get(url, **FETCH).content.decode()
    assert "order_update" in html and 'name="var-order"' in html
    assert 'name="var-name" value="Kari Nordmann"' in html


def test_template_send_reaches_the_reply_service(client, agent, closed_conversation, template):
    client.force_login(agent)
    url = reverse("twilio:template_send", args=[closed_conversation.pk])
    data = {"template": template.pk, "var-name": "Kari", "var-order": "#7", "client_id": "c-1"}
    first = client.post(url, data, **FETCH).json()
    again = client.post(url, data, **FETCH).json()  # a double submit sends once
    assert first["ok"] and first["message_id"] == again["message_id"]
    message = Message.objects.get(pk=first["message_id"])
    assert message.text == "Hi Kari, order #7 has shipped."
    assert message.content_attributes["template"]["content_sid"] == template.content_sid


def test_template_send_refuses_missing_variables_and_foreign_templates(
    client, agent, closed_conversation, template
):
    client.force_login(agent)
    url = reverse("twilio:template_send", args=[closed_conversation.pk])
    missing = client.post(url, {"template": template.pk, "var-name": "Kari"}, **FETCH)
    assert missing.status_code == 400 and "order" in missing.json()["error"]
    other = WhatsAppTemplate.objects.create(
        channel=factories.ChannelFactory(kind="whatsapp"),
        name="elsewhere",
        content_sid="HX" + "f" * 32,
    )
    foreign = client.post(url, {"template": other.pk}, **FETCH)
    assert foreign.status_code == 400
    assert not Message.objects.filter(direction="outbound").exists()


def test_picker_is_for_agents_and_whatsapp_only(client, agent, template):
    widget_conversation = factories.ConversationFactory()
    url = reverse("twilio:template_picker", args=[widget_conversation.pk])
    assert client.get(url).status_code == 302
    client.force_login(agent)
    assert client.get(url).status_code == 404
