"""Events crossing process boundaries to a websocket client of a real server process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from websockets.sync.client import connect

from helpdesk.conversations.services import message_receive_inbound
from helpdesk.conversations.services.inbound import InboundMessage
from tests.browser.live import ROOT, live_server, server_env, session_cookie, use_file_sqlite
from tests.support import factories

use_file_sqlite()

pytestmark = pytest.mark.django_db(transaction=True)


@contextmanager
def ws_connect(base_url: str, cookie: tuple[str, str]) -> Iterator[Any]:
    with connect(
        base_url.replace("http", "ws", 1) + "/ws/console/",
        additional_headers={"Cookie": f"{cookie[0]}={cookie[1]}", "Origin": base_url},
        open_timeout=10,
    ) as ws:
        assert json.loads(ws.recv(timeout=5))["type"] == "hello"
        yield ws


def wait_for(ws: Any, predicate: Any, timeout: float = 5) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("event did not arrive in time")
        event = json.loads(ws.recv(timeout=remaining))
        if predicate(event):
            return event


def inbound(channel: Any, text: str, sid: str) -> Any:
    return message_receive_inbound(
        channel=channel,
        inbound=InboundMessage(
            identity_kind="email", identity_address="e2e@example.test", text=text, external_id=sid
        ),
    )


def test_embedded_mode_event_from_another_process_reaches_websocket_client(agent):
    """No Redis in the server: the event this (other) process writes reaches the server's
    client through the event-log relay."""
    channel = factories.ChannelFactory()
    cookie = session_cookie(agent)
    with live_server(REDIS_URL="") as url, ws_connect(url, cookie) as ws:
        started = time.monotonic()
        result = inbound(channel, "from another process", "emb-1")
        event = wait_for(
            ws,
            lambda e: e["type"] == "message.created" and e["message_id"] == result.message.pk,
        )
        assert time.monotonic() - started < 2
    assert event["conversation_id"] == result.message.conversation_id


@pytest.mark.redis
@pytest.mark.postgres
def test_redis_event_from_one_web_process_and_a_script_reach_a_client_of_another(agent):
    channel = factories.ChannelFactory()
    conversation = inbound(channel, "hello", "rx-1").message.conversation
    cookie = session_cookie(agent)
    csrf = "relaycsrf" + "a" * 23  # any 32 alphanumerics: the cookie/header pair is checked
    with live_server() as url_a, live_server() as url_b, ws_connect(url_b, cookie) as ws:
        # 1. A reply posted to web process A reaches the client of web process B.
        request = urllib.request.Request(
            f"{url_a}/c/{conversation.pk}/reply/",
            data=b"text=from+A&client_id=a-1&mode=reply",
            headers={
                "Cookie": f"{cookie[0]}={cookie[1]}; csrftoken={csrf}",
                "X-CSRFToken": csrf,
                "X-Relay-Fetch": "1",
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": url_a,
                "Referer": url_a + "/",
            },
        )
        body = json.loads(urllib.request.urlopen(request, timeout=10).read())
        assert body["ok"]
        wait_for(
            ws,
            lambda e: e["type"] == "message.created" and e["message_id"] == body["message_id"],
        )
        # 2. An event raised by a third process (as the worker would) reaches it too.
        script = (
            "import django; django.setup();"
            "from helpdesk.conversations.models import Conversation;"
            "from helpdesk.conversations.services import conversation_set_priority;"
            f"conversation_set_priority(conversation=Conversation.objects.get(pk={conversation.pk}),"
            " priority=4, by=None)"
        )
        subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            env={**server_env(), "DJANGO_SETTINGS_MODULE": "config.settings"},
            check=True,
            timeout=60,
        )
        event = wait_for(
            ws, lambda e: e["type"] == "conversation.updated" and e.get("priority") == 4
        )
    assert event["conversation_id"] == conversation.pk


def ping(ws: Any) -> list[dict[str, Any]]:
    """Ping as the console does every 25 s; what arrives before the pong."""
    ws.send(json.dumps({"type": "ping"}))
    before = []
    while (event := json.loads(ws.recv(timeout=5)))["type"] != "pong":
        before.append(event)
    return before


def test_redis_outage_open_console_gets_its_events_on_ping_then_live_again(agent, on_own_redis):
    """A web process whose Redis stops and comes back: its open socket and a socket opened
    during the outage get what this (other) process raised meanwhile on their next ping."""
    channel = factories.ChannelFactory()
    cookie = session_cookie(agent)
    with live_server(REDIS_URL=on_own_redis.url) as url, ws_connect(url, cookie) as ws:
        on_own_redis.stop()
        with ws_connect(url, cookie) as opened_during:
            missed = inbound(channel, "during the outage", "out-1").message.pk
            assert missed in [e.get("message_id") for e in ping(opened_during)]
        assert missed in [e.get("message_id") for e in ping(ws)]
        on_own_redis.start()
        time.sleep(1.5)  # the server's pub/sub receiver reconnects once a second
        after = inbound(channel, "after the outage", "back-1").message.pk
        wait_for(ws, lambda e: e["type"] == "message.created" and e["message_id"] == after)
