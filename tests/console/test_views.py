from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.conversations.models import Message
from helpdesk.conversations.services import message_receive_inbound
from helpdesk.conversations.services.inbound import InboundMessage
from tests.support import factories

pytestmark = pytest.mark.django_db

FETCH = {"HTTP_X_RELAY_FETCH": "1"}


@pytest.fixture
def conversation(widget_channel):
    result = message_receive_inbound(
        channel=widget_channel,
        inbound=InboundMessage(
            identity_kind="email",
            identity_address="ada@example.test",
            sender_name="Ada Lovelace",
            text="My <b>order</b> never came",
            external_id="w-1",
        ),
    )
    return result.message.conversation


def test_login_page_signs_in_agents_and_refuses_other_users(client, agent):
    page = client.get(reverse("console:login"))
    assert page.status_code == 200 and b'name="password"' in page.content
    response = client.post(
        reverse("console:login"), {"username": agent.username, "password": "pw-for-tests-1"}
    )
    assert response.status_code == 302 and response.url == reverse("console:inbox")
    agent.agent_profile.refresh_from_db()
    assert agent.agent_profile.availability == "online"

    plain = factories.UserFactory()
    client.logout()
    refused = client.post(
        reverse("console:login"), {"username": plain.username, "password": "pw-for-tests-1"}
    )
    assert refused.status_code == 200
    assert b"not an agent account" in refused.content


def test_inbox_requires_sign_in(client):
    response = client.get(reverse("console:inbox"))
    assert response.status_code == 302 and reverse("console:login") in response.url


def test_inbox_refuses_users_without_agent_profile(client):
    client.force_login(factories.UserFactory())
    assert client.get(reverse("console:inbox")).status_code == 403


def test_logout_is_post_only_and_marks_offline(signed_in, agent):
    assert signed_in.get(reverse("console:logout")).status_code == 405
    response = signed_in.post(reverse("console:logout"))
    assert response.status_code == 302
    agent.agent_profile.refresh_from_db()
    assert agent.agent_profile.availability == "offline"
    assert signed_in.get(reverse("console:inbox")).status_code == 302


def test_inbox_lists_conversations_escaped_with_admin_link_only_for_managers(
    signed_in, conversation, client, manager
):
    page = signed_in.get(reverse("console:inbox"))
    assert page.status_code == 200
    assert b"Ada Lovelace" in page.content
    assert b"&lt;b&gt;order&lt;/b&gt;" in page.content  # user text escaped
    assert b"/admin/" not in page.content
    client.force_login(manager)
    assert b"/admin/" in client.get(reverse("console:inbox")).content


def test_inbox_query_count_constant_whatever_page_size(
    signed_in, widget_channel, django_assert_num_queries
):
    for _ in range(12):
        conversation = factories.ConversationFactory(channel=widget_channel)
        factories.MessageFactory(conversation=conversation)
        conversation.labels.add(factories.LabelFactory())
    counts = []
    for size in (2, 10):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            response = signed_in.get(reverse("console:inbox"), {"page_size": size})
        assert response.status_code == 200
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1]


def test_inbox_list_fragment_for_live_refresh(signed_in, conversation):
    response = signed_in.get(reverse("console:inbox"), {"fragment": "list"}, **FETCH)
    assert response.status_code == 200
    assert b"<html" not in response.content
    assert f'data-conversation-id="{conversation.pk}"'.encode() in response.content


def test_conversation_page_shows_thread_notes_activity_and_sidebar(signed_in, conversation, agent):
    from helpdesk.conversations.services import conversation_assign, note_create

    note_create(conversation=conversation, author=agent, text="Check the warehouse")
    conversation_assign(conversation=conversation, assignee=agent, by=agent)
    page = signed_in.get(reverse("console:conversation", args=[conversation.pk]))
    body = page.content.decode()
    assert page.status_code == 200
    assert "msg-note" in body and "Check the warehouse" in body
    assert "Assigned to" in body
    assert "ada@example.test" in body  # identity in the sidebar
    assert conversation.reads.get(user=agent).last_read_message_id > 0


def test_conversation_activity_line_in_the_readers_language(signed_in, conversation, agent):
    from helpdesk.conversations.services import conversation_change_status

    conversation_change_status(conversation=conversation, status="pending", by=agent)
    agent.agent_profile.language = "fr"
    agent.agent_profile.save()
    page = signed_in.get(reverse("console:conversation", args=[conversation.pk]))
    assert page["Content-Language"] == "fr"
    assert b'lang="fr"' in page.content


def test_reply_is_idempotent_on_client_id(signed_in, conversation):
    url = reverse("console:reply", args=[conversation.pk])
    data = {"text": "On its way!", "client_id": "abc-1", "mode": "reply"}
    first = signed_in.post(url, data, **FETCH)
    second = signed_in.post(url, data, **FETCH)
    assert first.json()["ok"] and second.json()["message_id"] == first.json()["message_id"]
    assert Message.objects.filter(direction="outbound").count() == 1


def test_reply_refused_by_the_domain_is_a_clear_error_not_a_500(signed_in, conversation):
    url = reverse("console:reply", args=[conversation.pk])
    response = signed_in.post(url, {"text": "   ", "mode": "reply"}, **FETCH)
    assert response.status_code == 400
    assert response.json() == {"ok": False, "error": "A reply needs some text.", "code": "empty"}
    plain = signed_in.post(url, {"text": "", "mode": "reply"})
    assert plain.status_code == 302  # without JavaScript: a flash message and a redirect


def test_note_mode_creates_a_private_note(signed_in, conversation):
    url = reverse("console:reply", args=[conversation.pk])
    signed_in.post(url, {"text": "internal", "mode": "note"}, **FETCH)
    assert Message.objects.get(text="internal").kind == "note"


def test_controls_assign_team_priority_status_labels(signed_in, conversation, agent):
    team = factories.TeamFactory()
    label = factories.LabelFactory(name="vip")
    pk = conversation.pk
    assert signed_in.post(reverse("console:assign", args=[pk]), {"assignee": "me"}, **FETCH).json()[
        "ok"
    ]
    signed_in.post(reverse("console:team", args=[pk]), {"team": team.pk}, **FETCH)
    signed_in.post(reverse("console:priority", args=[pk]), {"priority": 3}, **FETCH)
    signed_in.post(reverse("console:labels", args=[pk]), {"labels": ["vip"]}, **FETCH)
    signed_in.post(reverse("console:status", args=[pk]), {"status": "resolved"}, **FETCH)
    conversation.refresh_from_db()
    assert conversation.assignee_id == agent.pk and conversation.team_id == team.pk
    assert conversation.priority == 3 and conversation.status == "resolved"
    assert list(conversation.labels.all()) == [label]


def test_status_illegal_move_and_snooze_without_time_are_clear_errors(signed_in, conversation):
    url = reverse("console:status", args=[conversation.pk])
    snooze = signed_in.post(url, {"status": "snoozed"}, **FETCH)
    assert snooze.status_code == 400 and "snooze time" in snooze.json()["error"]
    signed_in.post(url, {"status": "resolved"}, **FETCH)
    illegal = signed_in.post(url, {"status": "pending"}, **FETCH)
    assert illegal.status_code == 409 and illegal.json()["code"] == "illegal_transition"


def test_snooze_until_a_time(signed_in, conversation):
    url = reverse("console:status", args=[conversation.pk])
    response = signed_in.post(
        url, {"status": "snoozed", "snoozed_until": "2099-01-01T09:00"}, **FETCH
    )
    assert response.json()["ok"]
    conversation.refresh_from_db()
    assert conversation.status == "snoozed" and conversation.snoozed_until.year == 2099


def test_canned_responses_filled_from_the_customer(signed_in, conversation):
    factories.CannedResponseFactory(shortcut="thanks", text="Hi {{customer.first_name}}!")
    page = signed_in.get(reverse("console:conversation", args=[conversation.pk]))
    assert b'"shortcut": "thanks", "text": "Hi Ada!"' in page.content


def test_whatsapp_reply_box_shows_the_window(signed_in, agent):
    channel = factories.ChannelFactory(kind="whatsapp")
    result = message_receive_inbound(
        channel=channel,
        inbound=InboundMessage(
            identity_kind="whatsapp", identity_address="+4790000009", text="hi", external_id="wa1"
        ),
    )
    page = signed_in.get(reverse("console:conversation", args=[result.message.conversation_id]))
    assert b"WhatsApp window" in page.content and b"data-template-picker" in page.content


def test_language_picker_saves_the_agents_language(signed_in, agent):
    response = signed_in.post(reverse("console:language"), {"language": "ar", "next": "/"})
    assert response.status_code == 302
    agent.agent_profile.refresh_from_db()
    assert agent.agent_profile.language == "ar"
    page = signed_in.get(reverse("console:inbox"))
    assert b'dir="rtl"' in page.content


def test_counts_fragment(signed_in, conversation):
    response = signed_in.get(reverse("console:counts"), {"view": "all"}, **FETCH)
    assert response.status_code == 200 and b'class="count"' in response.content


def test_label_toggle_changes_one_label_and_keeps_the_rest(signed_in, conversation, agent):
    from helpdesk.conversations.services import conversation_add_label

    vip, refund = factories.LabelFactory(name="vip"), factories.LabelFactory(name="refund")
    url = reverse("console:labels", args=[conversation.pk])
    assert signed_in.post(url, {"toggle": "vip", "on": "1"}, **FETCH).json()["ok"]
    # Another agent adds a label; this page still shows only "vip" and switches it off.
    conversation_add_label(conversation=conversation, label=refund, by=agent)
    signed_in.post(url, {"toggle": "vip", "on": "0"}, **FETCH)
    assert list(conversation.labels.all()) == [refund]
    unknown = signed_in.post(url, {"toggle": "nope", "on": "1"}, **FETCH)
    assert unknown.status_code == 400 and vip not in conversation.labels.all()
