"""The running system under real traffic: a burst of signed webhooks, agent replies through
the console, delivery to the (fake) Twilio API by the worker."""

from __future__ import annotations

import asyncio
import signal
import urllib.request
from urllib.parse import parse_qs, urlsplit

from tests.stack.conftest import STACK, Running
from tests.stack.harness import wait_until
from tests.support.loadgen import Senders, open_loop, summary

pytestmark = STACK


def processed(running: Running, sids: list[str]) -> int:
    return running.stack.scalar(
        "SELECT count(*) FROM conversations_message WHERE external_id = ANY(%s)", sids
    )


def test_stack_burst_of_1000_webhooks_at_100_per_second_all_answered_and_stored_once(running):
    shots = asyncio.run(
        open_loop(running.target(), count=1000, rate=100, senders=Senders(300, "+4791"))
    )
    result = summary(shots)
    assert result.statuses == {200: 1000}, result
    sids = [shot.sid for shot in shots]
    wait_until(lambda: processed(running, sids) == 1000, timeout=120, what="1000 messages")
    stack = running.stack
    assert stack.scalar("SELECT count(DISTINCT external_id) FROM conversations_message "
                        "WHERE external_id = ANY(%s)", sids) == 1000
    assert stack.scalar("SELECT count(*) FROM channels_app_rawinbound WHERE external_id = ANY(%s) "
                        "AND state = 'done'", sids) == 1000
    # 300 senders -> 300 customers, each with one conversation on this channel.
    assert stack.scalar(
        "SELECT count(DISTINCT conversation_id) FROM conversations_message "
        "WHERE external_id = ANY(%s)", sids
    ) == 300


def test_stack_200_agent_replies_each_posted_to_twilio_exactly_once(running):
    shots = asyncio.run(
        open_loop(running.target(), count=200, rate=100, senders=Senders(200, "+4792"))
    )
    assert summary(shots).statuses == {200: 200}
    sids = [shot.sid for shot in shots]
    wait_until(lambda: processed(running, sids) == 200, timeout=60, what="200 messages")
    conversations = [
        row[0]
        for row in running.stack.sql(
            "SELECT DISTINCT conversation_id FROM conversations_message "
            "WHERE external_id = ANY(%s)", sids
        )
    ]
    assert len(conversations) == 200
    console = running.console()
    before = len(running.twilio.creates())
    message_ids = [
        console.reply(conversation_id, f"Reply {n}: your parcel is on its way.")
        for n, conversation_id in enumerate(conversations)
    ]

    def sent() -> bool:
        return len(running.twilio.creates()) - before >= 200 and running.stack.scalar(
            "SELECT count(*) FROM conversations_message WHERE id = ANY(%s) "
            "AND delivery_status <> 'pending'", message_ids
        ) == 200

    wait_until(sent, timeout=90, what="200 replies handed to Twilio")
    creates = running.twilio.creates()[before:]
    named = [int(parse_qs(urlsplit(c.value("StatusCallback")).query)["m"][0]) for c in creates]
    assert sorted(named) == sorted(message_ids)  # each reply exactly once
    failed = running.stack.scalar(
        "SELECT count(*) FROM conversations_message WHERE id = ANY(%s) "
        "AND delivery_status = 'failed'", message_ids
    )
    assert failed == 0


def test_stack_websockets_served_by_their_own_ws_process(running):
    """The Procfile's `ws` process serves the agents' sockets (a proxy routes /ws/ there), so
    broadcasts never share a process with requests; events raised by `web` and `ingest` reach
    its sockets through Redis."""
    stack = running.stack
    stack.run("ws")
    ws_url = f"http://127.0.0.1:{stack.env['WS_PORT']}"
    wait_until(lambda: _http_ok(f"{ws_url}/healthz"), timeout=30, what="the ws process")
    console = running.console()  # signed in through web; the session is shared
    socket = console.socket(base_url=ws_url)
    try:
        shots = asyncio.run(
            open_loop(running.target(), count=3, rate=10, senders=Senders(3, "+4795"))
        )
        sids = [s.sid for s in shots]
        wait_until(lambda: processed(running, sids) == 3, timeout=30, what="3 messages")
        ids = {row[0] for row in stack.sql(
            "SELECT id FROM conversations_message WHERE external_id = ANY(%s)", sids
        )}
        got: set[int] = set()
        while got != ids:
            event = socket.wait_for(lambda e: e.get("type") == "message.created", timeout=10)
            got.add(event["message_id"])
    finally:
        socket.close()
        stack.kill("ws", signal.SIGTERM)


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False
