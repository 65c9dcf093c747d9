"""Working alongside other agents, in headless Chromium: another agent's change shows up in
the open conversation without disturbing the draft, a notification arrives as a toast, the SLA
countdown runs, and a note never turns into a public reply."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpdesk.conversations.models import Message
from helpdesk.conversations.services import conversation_assign
from tests.browser.live import sign_in
from tests.browser.test_console_browser import inbound, off_loop
from tests.sla.support import policy
from tests.support import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_console_live_controls_notifications_sla_and_note_mode(
    live_server_url, browser, screenshot_dir
):
    maria = factories.AgentFactory(username="maria2")
    boss = factories.ManagerFactory(username="boss")
    policy()
    factories.LabelFactory(name="vip", title="VIP")
    channel = factories.ChannelFactory(kind="web_widget", name="Shop widget")
    conversation = inbound(channel, "Can I change my address?", "col-1", name="Ana Silva")
    conversation = conversation.message.conversation

    context = browser.new_context(viewport={"width": 1366, "height": 800})
    page = context.new_page()
    page.set_default_timeout(5000)
    sign_in(page, live_server_url, "maria2")
    page.goto(f"{live_server_url}/c/{conversation.pk}/")
    expect(page.locator("[data-connection]")).to_have_attribute("data-state", "connected")

    # The SLA countdown is running in the header.
    badge = page.locator("#conv-head [data-sla-due]")
    expect(badge).to_have_attribute("data-state", "ok")
    expect(badge).to_contain_text("First response due in")

    # Maria starts a private note.
    page.get_by_label("Private note").check()
    box = page.locator("[data-reply-text]")
    box.fill("Checking with the warehouse first.")
    box.dispatch_event("input")

    # Meanwhile the manager assigns the conversation to her.
    off_loop(conversation_assign, conversation=conversation, assignee=maria, by=boss)
    expect(page.locator("#ctl-assignee")).to_have_value(str(maria.pk), timeout=3000)
    expect(page.locator("#toasts .toast")).to_contain_text("assigned you", timeout=3000)
    expect(page.locator("[data-notifications-link] .count")).to_have_text("1")

    # The draft and the note mode survived the live refresh; Ctrl+Enter adds a note.
    expect(page.get_by_label("Private note")).to_be_checked()
    expect(box).to_have_value("Checking with the warehouse first.")
    page.screenshot(path=str(screenshot_dir / "conversation-collaboration.png"))
    box.press("Control+Enter")
    expect(page.locator("#thread .msg-note").last).to_contain_text("warehouse", timeout=3000)
    kinds = list(
        Message.objects.filter(conversation=conversation, text__contains="warehouse").values_list(
            "kind", "direction"
        )
    )
    assert kinds == [("note", "internal")]

    # A label checkbox sends its own change; the list shows the label live.
    page.locator("#conv-head").get_by_label("VIP").check()
    expect(page.locator(f'.conv-item[data-conversation-id="{conversation.pk}"]')).to_contain_text(
        "VIP", timeout=3000
    )
    assert list(conversation.labels.values_list("name", flat=True)) == ["vip"]

    # Tablet, portrait: the conversation stays usable (nothing scrolls sideways).
    page.set_viewport_size({"width": 820, "height": 1180})
    page.reload()
    expect(page.locator("#conversation h2")).to_contain_text("Ana Silva")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1
    page.screenshot(path=str(screenshot_dir / "conversation-tablet.png"))
    context.close()
