from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from helpdesk.conversations.models import ConversationRead
from helpdesk.conversations.services import message_receive_inbound
from helpdesk.conversations.services.inbound import InboundMessage
from helpdesk.notifications.models import Notification
from helpdesk.notifications.services import notification_create
from tests.support import factories

pytestmark = pytest.mark.django_db

FETCH = {"HTTP_X_RELAY_FETCH": "1"}


def inbound(channel, sid: str, who: str = "ada@example.test"):
    return message_receive_inbound(
        channel=channel,
        inbound=InboundMessage(
            identity_kind="email", identity_address=who, text="Where is my order?", external_id=sid
        ),
    ).message.conversation


def test_controls_fragment_renders_header_and_controls_only(signed_in, widget_channel):
    conversation = inbound(widget_channel, "c1")
    url = reverse("console:conversation", args=[conversation.pk])
    html = signed_in.get(url, {"fragment": "controls"}, **FETCH).content.decode()
    assert 'id="ctl-assignee"' in html and 'name="status"' in html
    assert "reply-box" not in html and "<html" not in html


def test_thread_refresh_marks_read_only_when_the_page_says_it_is_visible(
    signed_in, widget_channel, agent
):
    conversation = inbound(widget_channel, "r1")
    url = reverse("console:conversation", args=[conversation.pk])
    signed_in.get(url, {"fragment": "thread"}, **FETCH)
    assert not ConversationRead.objects.filter(user=agent).exists()
    signed_in.get(url + "?fragment=thread&read=1", **FETCH)
    assert ConversationRead.objects.filter(user=agent, conversation=conversation).exists()


def test_navigation_lists_team_channel_and_label_views_with_unread_counts(
    signed_in, widget_channel
):
    team = factories.TeamFactory(name="Returns desk")
    label = factories.LabelFactory(name="refund")
    conversation = inbound(widget_channel, "n1")
    conversation.team = team
    conversation.save(update_fields=["team"])
    conversation.labels.add(label)
    html = signed_in.get(reverse("console:counts"), {"view": "all"}, **FETCH).content.decode()
    assert f"team={team.pk}" in html and "Returns desk" in html
    assert f"channel={widget_channel.pk}" in html and "label=refund" in html
    assert html.count('class="count"') >= 4  # All, the team, the channel, the label


def test_navigation_query_count_does_not_grow_with_teams_channels_labels(signed_in, widget_channel):
    inbound(widget_channel, "q")

    def measure() -> int:
        with CaptureQueriesContext(connection) as ctx:
            signed_in.get(reverse("console:counts"), **FETCH)
        return len(ctx.captured_queries)

    before = measure()
    for i in range(5):
        channel = factories.ChannelFactory()
        conversation = inbound(channel, f"q{i}", who=f"s{i}@example.test")
        conversation.labels.add(factories.LabelFactory())
        factories.TeamFactory()
    assert measure() == before


def test_notifications_page_toast_and_open(signed_in, agent, widget_channel):
    conversation = inbound(widget_channel, "t1")
    [notification] = notification_create(
        recipient_ids=[agent.pk],
        kind="delivery_failed",
        key="x",
        conversation=conversation,
        data={"reason": "<b>opted out</b>"},
    )
    page = signed_in.get(reverse("console:notifications")).content.decode()
    assert "&lt;b&gt;opted out&lt;/b&gt;" in page and "<b>opted out" not in page
    assert "count-alert" in page  # the badge in the navigation
    toast = signed_in.get(reverse("console:notifications"), {"fragment": "toast"}, **FETCH)
    assert f'data-notification-id="{notification.pk}"' in toast.content.decode()
    opened = signed_in.get(reverse("console:notification_open", args=[notification.pk]))
    assert opened.status_code == 302
    assert opened["Location"] == reverse("console:conversation", args=[conversation.pk])
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_opening_a_conversation_settles_its_notifications(signed_in, agent, widget_channel):
    conversation = inbound(widget_channel, "o1")
    notification_create(
        recipient_ids=[agent.pk], kind="sla_warning", key="w", conversation=conversation
    )
    signed_in.get(reverse("console:conversation", args=[conversation.pk]))
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_mark_all_read_and_foreign_notifications_stay_private(signed_in, agent, widget_channel):
    other = factories.AgentFactory()
    conversation = inbound(widget_channel, "m1")
    [theirs] = notification_create(
        recipient_ids=[other.pk], kind="assigned", key="a", conversation=conversation
    )
    assert signed_in.get(reverse("console:notification_open", args=[theirs.pk])).status_code == 404
    notification_create(
        recipient_ids=[agent.pk], kind="assigned", key="a", conversation=conversation
    )
    response = signed_in.post(reverse("console:notifications_read"), **FETCH)
    assert response.json() == {"ok": True, "changed": 1}
    theirs.refresh_from_db()
    assert theirs.read_at is None
