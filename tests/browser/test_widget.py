"""The customer widget end to end in headless Chromium against a real uvicorn process: a shopper
on the demo shop writes, an agent in a second browser context sees it live in the console and
replies, the shopper sees the reply (and the agent typing) without reload, the history survives
a reload, and the same widget renders right to left in Arabic.

Uses the shared live server (tests/browser/conftest.py): the test process and the server share
the database, and jobs run synchronously inside the server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from playwright.sync_api import expect

from helpdesk.conversations.models import Message
from helpdesk.conversations.services import message_send_reply
from tests.browser.live import session_cookie
from tests.browser.test_console_browser import off_loop
from tests.support import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

W = "#relay-widget"


def wait_for(check: Any, timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.1)


def widget_channel(*origins: str) -> Any:
    return factories.ChannelFactory(
        kind="web_widget",
        name="Demo shop",
        settings={"allowed_origins": list(origins), "reply_time_minutes": 120},
    )


def open_widget(page: Any) -> None:
    page.locator(f"{W} .launch").click()
    expect(page.locator(f"{W} .panel")).to_be_visible()


def test_widget_shopper_and_agent_live(live_server_url, browser, screenshot_dir):
    channel = widget_channel(live_server_url)
    agent = factories.AgentFactory(username="lena")
    shop_url = f"{live_server_url}/demo/shop/?channel={channel.public_id}"

    # The agent is already working in the console (a second browser context).
    console = browser.new_context(viewport={"width": 1366, "height": 800})
    name, value = session_cookie(agent)
    console.add_cookies([{"name": name, "value": value, "url": live_server_url}])
    agent_page = console.new_page()
    agent_page.set_default_timeout(5000)
    agent_page.goto(f"{live_server_url}/?view=all")
    expect(agent_page.locator("[data-connection]")).to_have_attribute("data-state", "connected")

    shopper = browser.new_context(viewport={"width": 1100, "height": 760}, locale="en-US")
    page = shopper.new_page()
    page.set_default_timeout(5000)
    page.goto(shop_url)
    open_widget(page)
    # Before sending: the honest expectation, in the shopper's language.
    expect(page.locator(f"{W} .expect")).to_have_text("We usually reply within 2 hours.")
    text = "Hi <b>there</b> & where is order #1042?"
    page.locator(f"{W} textarea").fill(text)
    page.locator(f"{W} textarea").press("Enter")
    mine = page.locator(f"{W} .msg.you")
    expect(mine).to_have_text(text)  # shown as typed: escaped, never parsed as HTML
    expect(page.locator(f"{W} .msg b")).to_have_count(0)
    # After sending: the expectation again, and the ask for an email.
    expect(page.locator(f"{W} .note")).to_have_text("We usually reply within 2 hours.")
    page.locator(f"{W} .email input").fill("shopper@example.test")
    page.locator(f"{W} .email button").click()
    expect(page.locator(f"{W} .email")).to_contain_text("Thanks!")
    message = wait_for(lambda: Message.objects.filter(text=text).first())
    conversation = message.conversation
    assert conversation.customer.identities.filter(kind="email").exists()

    # The agent's console, open before the shopper wrote, shows it live; the agent replies.
    item = agent_page.locator(f'.conv-item[data-conversation-id="{conversation.pk}"]')
    expect(item).to_be_visible(timeout=3000)
    item.locator("a").click()
    expect(agent_page.locator("#thread")).to_contain_text(text)
    expect(agent_page.locator("#thread b")).to_have_count(0)
    box = agent_page.locator("[data-reply-text]")
    box.fill("Your parcel left our warehouse today.")
    box.dispatch_event("input")
    expect(page.locator(f"{W} .typing")).to_have_text("Typing…")  # the agent types
    agent_page.locator("[data-send-button]").click()

    # The shopper sees the reply without reload; having seen it marks it read.
    reply = page.locator(f"{W} .msg.agent")
    expect(reply).to_contain_text("Your parcel left our warehouse today.")
    expect(page.locator(f"{W} .email")).to_have_count(0)  # answered: no more asking
    wait_for(
        lambda: Message.objects.filter(
            conversation=conversation, direction="outbound", delivery_status="read"
        ).exists()
    )
    page.screenshot(path=str(screenshot_dir / "widget-open-ltr.png"))

    # After a reload the history is still there (the visitor token lives in localStorage).
    page.reload()
    open_widget(page)
    expect(page.locator(f"{W} .msg")).to_have_count(2)
    expect(page.locator(f"{W} .msg.agent")).to_contain_text("Your parcel left")
    console.close()
    shopper.close()


def test_widget_in_arabic_renders_rtl(live_server_url, browser, screenshot_dir):
    channel = widget_channel(live_server_url)
    agent = factories.AgentFactory(username="salma")
    context = browser.new_context(viewport={"width": 1100, "height": 760}, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(5000)
    # The page's lang (ar) wins over the browser's (en).
    page.goto(f"{live_server_url}/demo/shop/?lang=ar&channel={channel.public_id}")
    open_widget(page)
    expect(page.locator(W)).to_have_attribute("dir", "rtl")
    expect(page.locator(f"{W} textarea")).to_have_attribute("placeholder", "اكتب رسالة…")
    expect(page.locator(f"{W} .expect")).not_to_be_empty()
    page.locator(f"{W} textarea").fill("مرحبا، أين طلبي؟")
    page.locator(f"{W} textarea").press("Enter")
    expect(page.locator(f"{W} .msg.you")).to_have_text("مرحبا، أين طلبي؟")
    expect(page.locator(f"{W} .email")).to_be_visible()
    # Right to left: the panel hugs the left edge, the shopper's bubble sits on the left.
    panel = page.locator(f"{W} .panel").bounding_box()
    bubble = page.locator(f"{W} .msg.you").bounding_box()
    assert panel["x"] < 100
    assert bubble["x"] < panel["x"] + panel["width"] / 2

    # The same flow as in English: an agent replies, the shopper sees it live and after reload.
    message = wait_for(lambda: Message.objects.filter(text="مرحبا، أين طلبي؟").first())
    off_loop(
        message_send_reply,
        conversation=message.conversation,
        author=agent,
        text="طلبك في الطريق وسيصل غدًا.",
    )
    expect(page.locator(f"{W} .msg.agent")).to_contain_text("طلبك في الطريق")
    page.screenshot(path=str(screenshot_dir / "widget-open-rtl-ar.png"))
    page.reload()
    open_widget(page)
    expect(page.locator(f"{W} .msg")).to_have_count(2)
    expect(page.locator(W)).to_have_attribute("dir", "rtl")
    context.close()


@contextmanager
def shop_site(html: str) -> Iterator[str]:
    """Another web site on its own origin (a plain HTTP server on loopback) serving `html`."""

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://localhost:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_widget_cross_origin_allowed_and_refused(live_server_url, browser):
    channel = widget_channel()
    snippet = (
        f'<script src="{live_server_url}/static/widget/widget.js" '
        f'data-channel="{channel.public_id}" async></script>'
    )
    html = f"<!doctype html><html lang=fr><body><h1>Boutique</h1>{snippet}</body></html>"
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(5000)
    with shop_site(html) as shop, shop_site(html) as evil:
        channel.settings["allowed_origins"] = [shop]
        channel.save()
        page.goto(f"{shop}/")
        open_widget(page)
        expect(page.locator(f"{W} .expect")).to_contain_text("Nous répondons")
        page.locator(f"{W} textarea").fill("Bonjour")
        page.locator(f"{W} textarea").press("Enter")
        expect(page.locator(f"{W} .msg.you")).to_have_text("Bonjour")
        wait_for(lambda: Message.objects.filter(text="Bonjour").exists())

        page.goto(f"{evil}/")
        open_widget(page)
        expect(page.locator(f"{W} .error")).to_be_visible()
    assert Message.objects.filter(kind="message").count() == 1
    context.close()
