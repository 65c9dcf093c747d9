"""The agent console end to end in headless Chromium against a real uvicorn process.

Jobs: the live server runs with RELAY_TESTING=1, so django-q2 runs jobs synchronously inside
the server process: the reply's delivery job (widget adapter) moves it pending -> sent right
after commit, no worker needed. The widget would then report `delivered`; the test does that
through the service layer from this process, which also exercises the cross-process event path
(embedded relay without Redis, pub/sub with it)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection
from playwright.sync_api import expect

from helpdesk.conversations.models import Message
from helpdesk.conversations.services import message_receive_inbound, message_update_delivery_status
from helpdesk.conversations.services.inbound import InboundMessage
from tests.browser.live import sign_in
from tests.support import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def off_loop(function, **kwargs):
    """Call a service from a plain thread: Playwright keeps an event loop in the test thread,
    and the after-commit send to Redis (async_to_sync) cannot run inside a running loop."""

    def call():
        try:
            return function(**kwargs)
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(call).result()


def inbound(channel, text: str, sid: str, who: str = "sofia@example.test", name: str = ""):
    return off_loop(
        message_receive_inbound,
        channel=channel,
        inbound=InboundMessage(
            identity_kind="email",
            identity_address=who,
            sender_name=name,
            text=text,
            external_id=sid,
        ),
    )


def test_console_live_inbox_conversation_canned_reply_and_delivery(
    live_server_url, browser, screenshot_dir
):
    factories.AgentFactory(username="maria")
    channel = factories.ChannelFactory(kind="web_widget", name="Shop widget")
    factories.CannedResponseFactory(
        shortcut="thanks", text="Hi {{customer.first_name}}, thanks for writing!"
    )
    factories.LabelFactory(name="vip", title="VIP", color="#7c3aed")
    inbound(
        channel, "Do you ship to Norway?", "seed-1", who="ola@example.test", name="Ola Nordmann"
    )

    context = browser.new_context(viewport={"width": 1366, "height": 800})
    page = context.new_page()
    page.set_default_timeout(5000)
    sign_in(page, live_server_url, "maria")
    expect(page.locator("[data-connection]")).to_have_attribute("data-state", "connected")
    expect(page.locator(".conv-item")).to_have_count(1)

    # A new customer message arrives through the service layer: the inbox updates live.
    result = inbound(channel, "Where is my order #1042?", "live-1", name="Sofia Rossi")
    conversation = result.message.conversation
    item = page.locator(f'.conv-item[data-conversation-id="{conversation.pk}"]')
    expect(item).to_be_visible(timeout=3000)
    expect(item).to_have_class(re.compile("is-unread"))
    expect(page.locator("#nav .count").first).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "inbox-ltr.png"))

    # Open it; a follow-up appears in the open thread without reload.
    item.locator("a").click()
    expect(page.locator("#conversation h2")).to_contain_text("Sofia Rossi")
    inbound(channel, "It was due yesterday.", "live-2")
    expect(page.locator("#thread")).to_contain_text("It was due yesterday.", timeout=3000)

    # Reply with a canned response typed as /shortcut.
    box = page.locator("[data-reply-text]")
    box.fill("/tha")
    box.dispatch_event("input")
    expect(page.locator("[data-canned-menu]")).to_contain_text("Hi Sofia, thanks for writing!")
    box.press("Enter")
    expect(box).to_have_value("Hi Sofia, thanks for writing!")
    page.locator("[data-send-button]").click()
    outbound = page.locator("#thread .msg-out").last
    expect(outbound).to_contain_text("Hi Sofia, thanks for writing!", timeout=3000)
    expect(outbound.locator(".delivery")).to_have_attribute("data-delivery-status", "sent")
    reply = Message.objects.get(conversation=conversation, direction="outbound")
    assert reply.client_id  # the page sent an idempotency key

    # The widget reports delivery (in this process): the status advances live.
    off_loop(message_update_delivery_status, message_id=reply.pk, status="delivered")
    expect(outbound.locator(".delivery")).to_have_attribute(
        "data-delivery-status", "delivered", timeout=3000
    )
    # The reply assigned the conversation to the agent: the activity line shows it.
    expect(page.locator("#thread .msg-activity").last).to_contain_text("Assigned to")
    page.screenshot(path=str(screenshot_dir / "conversation-ltr.png"))

    # Arabic, right to left.
    page.get_by_label("Language").select_option("ar")
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.screenshot(path=str(screenshot_dir / "conversation-rtl-ar.png"))
    page.goto(f"{live_server_url}/?view=all")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    page.screenshot(path=str(screenshot_dir / "inbox-rtl-ar.png"))
    context.close()
