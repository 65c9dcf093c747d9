from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.conversations.services import message_receive_inbound
from helpdesk.conversations.services.inbound import InboundMessage
from tests.sla.support import policy

pytestmark = pytest.mark.django_db


def test_inbox_and_header_show_a_live_sla_countdown(client, agent, widget_channel):
    policy()  # 24/7: first response due in 60 minutes, warning at 80 %
    conversation = message_receive_inbound(
        channel=widget_channel,
        inbound=InboundMessage(
            identity_kind="email", identity_address="a@example.test", text="Hi", external_id="s1"
        ),
    ).message.conversation
    client.force_login(agent)
    inbox = client.get(reverse("console:inbox")).content.decode()
    assert "data-sla-due=" in inbox and 'data-state="ok"' in inbox
    assert "First response due" in inbox
    pane = client.get(reverse("console:conversation", args=[conversation.pk])).content.decode()
    assert pane.count("data-sla-due=") >= 2  # the list row and the header
    assert "data-sla-warn=" in pane
