"""Faults and timers on the running system: an SLA breach caught by the running worker, and a
Redis outage that locks nobody out and loses no event."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time

import requests

from tests.stack.conftest import STACK, Running
from tests.stack.harness import wait_until
from tests.support.loadgen import Senders, open_loop

pytestmark = STACK

SHOP = "https://shop.stack.example"


def test_stack_sla_breach_recorded_once_within_60s_of_its_deadline(running: Running):
    """The probe message (sent when the stack started, see conftest) has a one-minute first
    response target; the running worker records its breach once, within 60 s of the deadline."""
    stack = running.stack
    conversation_id, deadline = wait_until(
        lambda: stack.sql(
            "SELECT c.id, c.first_response_due_at FROM conversations_conversation c "
            "JOIN conversations_message m ON m.conversation_id = c.id "
            "WHERE m.external_id = %s AND c.first_response_due_at IS NOT NULL",
            running.sla_sid,
        ),
        timeout=30,
        what="the probe conversation and its deadline",
    )[0]

    def recorded() -> list[tuple]:
        return stack.sql(
            "SELECT created_at FROM core_realtimeevent WHERE type = 'sla.breached' "
            "AND (payload->>'conversation_id')::bigint = %s",
            conversation_id,
        )

    rows = wait_until(recorded, timeout=150, interval=0.5, what="the breach to be recorded")
    assert (rows[0][0] - deadline).total_seconds() <= 60, (deadline, rows[0][0])
    checks_since = (
        "SELECT count(*) FROM django_q_task "
        "WHERE func = 'helpdesk.sla.tasks.check_deadlines' AND started > %s"
    )
    wait_until(lambda: stack.scalar(checks_since, rows[0][0]), timeout=60, what="another check")
    assert len(recorded()) == 1  # recorded once, however many checks ran
    assert stack.scalar(
        "SELECT count(*) FROM sla_slaevent WHERE conversation_id = %s AND kind = 'breached'",
        conversation_id,
    ) == 1


def _widget_channel(stack) -> str:
    return stack.shell(
        "from helpdesk.inboxes.models import Channel; "
        "c = Channel.objects.create(kind='web_widget', name='Stack widget', "
        f"settings={{'allowed_origins': ['{SHOP}']}}); print(c.public_id)"
    ).strip()


def test_stack_redis_outage_locks_nobody_out_and_open_consoles_catch_up(running: Running):
    stack = running.stack
    widget = _widget_channel(stack)
    console = running.console()
    before = console.socket()  # an open tab from before the outage
    stack.redis_stop()
    try:
        session = requests.post(
            f"{stack.url}/widget/api/{widget}/session",
            json={},
            headers={"Origin": SHOP},
            timeout=10,
        )
        assert session.status_code in (200, 201), (session.url, session.text[:300])
        token = session.json()["token"]
        sent = requests.post(
            f"{stack.url}/widget/api/{widget}/messages",
            json={"text": "Hello during the outage", "client_id": "stack-outage-1"},
            headers={"Origin": SHOP, "X-Widget-Token": token},
            timeout=10,
        )
        assert sent.status_code in (200, 201), sent.text[:300]
        other = running.console()  # sign-in works without Redis
        during = other.socket()  # and so does the socket handshake
        shots = asyncio.run(
            open_loop(running.target(), count=5, rate=50, senders=Senders(5, "+4794"))
        )
        assert {s.status for s in shots} == {200}
        sids = [s.sid for s in shots]

        def stored() -> list[tuple] | None:
            rows = stack.sql(
                "SELECT id FROM conversations_message WHERE external_id = ANY(%s)", sids
            )
            return rows if len(rows) == 5 else None

        rows = wait_until(stored, timeout=60, what="webhooks processed during the outage")
        message_ids = [row[0] for row in rows]
    finally:
        stack.redis_start()
    wanted = set(message_ids)
    for socket in (before, during):
        got: set[int] = set()
        deadline = time.monotonic() + 30
        while got != wanted and time.monotonic() < deadline:
            socket.send({"type": "ping"})  # the browser pings every ~25 s
            with contextlib.suppress(AssertionError, TimeoutError):
                socket.wait_for(lambda e: e.get("type") == "pong", timeout=5)
            got |= {
                e.get("message_id") for e in socket.seen if e.get("type") == "message.created"
            } & wanted
            time.sleep(1)
        assert got == wanted, json.dumps(socket.seen[-5:])
        socket.close()
