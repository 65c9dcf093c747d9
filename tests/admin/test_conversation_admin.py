"""Conversation admin: bulk actions and change-form saves go through the services."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.conversations.admin import MESSAGE_HISTORY_CAP
from helpdesk.conversations.models import Conversation
from tests.admin.helpers import change_form_data, flash, run_action
from tests.support import factories

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:conversations_conversation_changelist"


def activity(conversation: Conversation) -> list[str]:
    return list(
        conversation.messages.filter(kind="activity")
        .order_by("id")
        .values_list("content_attributes__event", flat=True)
    )


@pytest.fixture
def logged_in(client, manager):
    client.force_login(manager)
    return client


def test_assign_to_agent_shows_intermediate_page_then_assigns(logged_in, manager, events):
    agent = factories.AgentFactory()
    agent.agent_profile.display_name = "Amina <b>"
    agent.agent_profile.save()
    conversations = factories.ConversationFactory.create_batch(2)
    pks = [c.pk for c in conversations]

    page = run_action(logged_in, CHANGELIST, "assign_to_agent", pks)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Amina &lt;b&gt;" in html and 'name="apply"' in html
    assert Conversation.objects.filter(assignee=agent).count() == 0

    done = run_action(logged_in, CHANGELIST, "assign_to_agent", pks, apply="1", agent=agent.pk)
    assert done.status_code == 302
    for conversation in Conversation.objects.filter(pk__in=pks):
        assert conversation.assignee_id == agent.pk
        assert activity(conversation) == ["assigned"]
    assert "assigned" in [e.get("kind") for e in events.all()]
    assert ("success", "2 conversations assigned.") in flash(done)


def test_assign_to_agent_refuses_unknown_agent_on_the_form(logged_in):
    plain_user = factories.UserFactory()
    conversation = factories.ConversationFactory()
    page = run_action(
        logged_in, CHANGELIST, "assign_to_agent", [conversation.pk], apply="1", agent=plain_user.pk
    )
    assert page.status_code == 200  # the form comes back with its error
    assert "errorlist" in page.content.decode()
    conversation.refresh_from_db()
    assert conversation.assignee_id is None


def test_assign_to_me_assigns_the_acting_manager(logged_in, manager):
    conversation = factories.ConversationFactory()
    response = run_action(logged_in, CHANGELIST, "assign_to_me", [conversation.pk])
    assert response.status_code == 302
    conversation.refresh_from_db()
    assert conversation.assignee_id == manager.pk
    assert activity(conversation) == ["assigned"]


def test_assign_to_me_without_agent_profile_reports_each_conversation(client):
    superuser = factories.UserFactory(is_staff=True, is_superuser=True)
    client.force_login(superuser)
    conversations = factories.ConversationFactory.create_batch(2)
    response = run_action(client, CHANGELIST, "assign_to_me", [c.pk for c in conversations])
    assert response.status_code == 302
    errors = [text for level, text in flash(response) if level == "error"]
    assert len(errors) == 2
    assert all("Only active agents can be assigned." in e for e in errors)
    assert not Conversation.objects.filter(assignee__isnull=False).exists()


def test_resolve_action_resolves_through_the_service(logged_in):
    conversations = factories.ConversationFactory.create_batch(3)
    response = run_action(logged_in, CHANGELIST, "resolve", [c.pk for c in conversations])
    assert response.status_code == 302
    for conversation in Conversation.objects.all():
        assert conversation.status == "resolved"
        assert conversation.resolved_at is not None
        assert activity(conversation) == ["status_changed"]


def test_mark_pending_reports_illegal_moves_and_changes_the_rest(logged_in):
    resolved = factories.ConversationFactory(status="resolved")
    open_one = factories.ConversationFactory(status="open")
    response = run_action(logged_in, CHANGELIST, "mark_pending", [resolved.pk, open_one.pk])
    assert response.status_code == 302
    messages = flash(response)
    errors = [text for level, text in messages if level == "error"]
    assert errors == [f"#{resolved.pk}: A conversation cannot go from Resolved to Pending."]
    assert ("success", "1 conversations marked pending.") in messages
    resolved.refresh_from_db()
    open_one.refresh_from_db()
    assert resolved.status == "resolved" and activity(resolved) == []
    assert open_one.status == "pending" and activity(open_one) == ["status_changed"]


def test_add_label_action_uses_an_intermediate_form(logged_in):
    label = factories.LabelFactory(name="vip")
    conversations = factories.ConversationFactory.create_batch(2)
    pks = [c.pk for c in conversations]
    page = run_action(logged_in, CHANGELIST, "add_label", pks)
    assert page.status_code == 200 and "vip" in page.content.decode()
    done = run_action(logged_in, CHANGELIST, "add_label", pks, apply="1", label=label.pk)
    assert done.status_code == 302
    for conversation in Conversation.objects.all():
        assert list(conversation.labels.values_list("name", flat=True)) == ["vip"]
        assert activity(conversation) == ["labels_changed"]


def test_change_form_state_edits_go_through_services(logged_in, manager):
    agent = factories.AgentFactory()
    team = factories.TeamFactory()
    label = factories.LabelFactory()
    conversation = factories.ConversationFactory()
    url = reverse("admin:conversations_conversation_change", args=[conversation.pk])
    data = change_form_data(logged_in.get(url))
    data.update(
        status="resolved",
        assignee=agent.pk,
        team=team.pk,
        priority=3,
        labels=[str(label.pk)],
        subject="New subject",
    )
    response = logged_in.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    conversation.refresh_from_db()
    assert conversation.status == "resolved" and conversation.resolved_at is not None
    assert conversation.assignee_id == agent.pk
    assert conversation.team_id == team.pk
    assert conversation.priority == 3
    assert conversation.subject == "New subject"
    assert list(conversation.labels.all()) == [label]
    assert sorted(activity(conversation)) == sorted(
        ["assigned", "labels_changed", "priority_changed", "status_changed", "team_changed"]
    )


def test_change_form_refuses_illegal_status_move(logged_in):
    conversation = factories.ConversationFactory(status="resolved")
    url = reverse("admin:conversations_conversation_change", args=[conversation.pk])
    data = change_form_data(logged_in.get(url))
    data["status"] = "pending"
    response = logged_in.post(url, data)
    assert response.status_code == 200
    assert "status" in response.context["adminform"].form.errors
    conversation.refresh_from_db()
    assert conversation.status == "resolved"
    assert activity(conversation) == []


def test_change_page_shows_capped_escaped_message_history(logged_in):
    conversation = factories.ConversationFactory()
    oldest = factories.MessageFactory(conversation=conversation, text="the very first message")
    factories.MessageFactory.create_batch(MESSAGE_HISTORY_CAP - 2, conversation=conversation)
    factories.MessageFactory(conversation=conversation, text="<script>alert(1)</script>")
    factories.MessageFactory(
        conversation=conversation,
        direction="outbound",
        sender_type="agent",
        delivery_status="failed",
        error_code="30003",
        error_message="Unreachable destination handset",
        text="latest reply",
    )
    url = reverse("admin:conversations_conversation_change", args=[conversation.pk])
    response = logged_in.get(url)
    html = response.content.decode()
    assert response.status_code == 200
    inline = response.context["inline_admin_formsets"][0]
    assert len(inline.formset.forms) == MESSAGE_HISTORY_CAP
    assert "latest reply" in html and "30003 Unreachable destination handset" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # The oldest message fell off the capped list; the full, paginated list is linked.
    assert oldest.text not in html
    assert f"conversation__id__exact={conversation.pk}" in html


def test_message_list_escapes_text_and_is_read_only(logged_in):
    factories.MessageFactory(text="<img src=x onerror=alert(1)>")
    response = logged_in.get(reverse("admin:conversations_message_changelist"))
    html = response.content.decode()
    assert "<img src=x onerror" not in html and "&lt;img src=x onerror" in html
    assert logged_in.get(reverse("admin:conversations_message_add")).status_code == 403


def test_canned_response_form_lists_variables(logged_in):
    html = logged_in.get(reverse("admin:conversations_cannedresponse_add")).content.decode()
    for variable in ("{{customer.first_name}}", "{{agent.name}}", "{{channel.name}}"):
        assert f"<code>{variable}</code>" in html


def test_bulk_actions_need_the_change_permission(client):
    from django.contrib.auth.models import Permission

    viewer = factories.AgentFactory(is_staff=True)
    viewer.user_permissions.add(
        Permission.objects.get(codename="view_conversation"),
        Permission.objects.get(codename="view_customer"),
    )
    client.force_login(viewer)
    conversations = factories.ConversationFactory.create_batch(2)
    run_action(client, CHANGELIST, "resolve", [c.pk for c in conversations])
    assert not Conversation.objects.filter(status="resolved").exists()
    customers = factories.CustomerFactory.create_batch(2)
    run_action(
        client, "admin:customers_customer_changelist", "merge_into", [c.pk for c in customers]
    )
    assert all(c.merged_into_id is None for c in type(customers[0]).objects.all())
