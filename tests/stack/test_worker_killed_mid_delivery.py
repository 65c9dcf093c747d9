"""A worker SIGKILLed while it hands replies to Twilio, then restarted: every reply still
reaches Twilio exactly once. Claims the dead worker left open are reconciled against Twilio's
Messages list once they are older than the stale age: linked when the create got there,
sent again when it did not. The stack runs with short job timeouts so this takes seconds."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.stack.conftest import STACK, Running, start_running
from tests.stack.harness import wait_until
from tests.support.fake_twilio import Recorded, Reply
from tests.support.loadgen import Senders, open_loop, summary

pytestmark = STACK

REPLIES = 40
# The job timeout, the redelivery of a dead worker's jobs and the stale age, shortened (the
# stale age must stay above Q_TIMEOUT + 5 s: settings refuse less).
SHORT_TIMEOUTS = {"Q_TIMEOUT": "10", "Q_RETRY": "15", "TWILIO_STALE_AFTER_SECONDS": "15"}


@pytest.fixture(scope="module")
def running_short() -> Iterator[Running]:
    yield from start_running(**SHORT_TIMEOUTS)


def named_message(create: Recorded) -> int:
    """Our message id, from the StatusCallback URL each create carries (`?m=<id>`)."""
    return int(parse_qs(urlsplit(create.value("StatusCallback")).query)["m"][0])


def conversations_of(running: Running, sids: list[str]) -> list[int] | None:
    """The conversations the customers' messages are in, once all are stored."""
    rows = running.stack.sql(
        "SELECT conversation_id FROM conversations_message WHERE external_id = ANY(%s)", sids
    )
    return sorted({row[0] for row in rows}) if len(rows) == len(sids) else None


def test_stack_worker_killed_mid_delivery_every_reply_sent_exactly_once(running_short):
    running = running_short
    stack, twilio = running.stack, running.twilio
    shots = asyncio.run(
        open_loop(running.target(), count=REPLIES, rate=50, senders=Senders(REPLIES, "+4794"))
    )
    assert summary(shots).statuses == {200: REPLIES}
    sids = [shot.sid for shot in shots]
    conversations = wait_until(
        lambda: conversations_of(running, sids), timeout=60, what="the customers' messages"
    )
    assert len(conversations) == REPLIES
    # Twilio answers every create after a second: two worker processes have a create in
    # flight most of the time.
    twilio.answer_unscripted(Reply(201, None, delay=1.0))
    console = running.console()
    started = time.monotonic()
    message_ids = [
        console.reply(conversation_id, f"Reply {n}: your parcel is on its way.")
        for n, conversation_id in enumerate(conversations)
    ]
    wait_until(lambda: len(twilio.creates()) >= 6, timeout=30, interval=0.05, what="6 creates")
    stack.kill("worker")  # SIGKILL to the whole process group, mid-create
    killed_at = time.monotonic()
    at_kill = len(twilio.creates())
    assert 6 <= at_kill < REPLIES
    stack.run("worker")

    def all_handed_over() -> bool:
        return (
            stack.scalar(
                "SELECT count(*) FROM conversations_message WHERE id = ANY(%s) "
                "AND delivery_status = 'pending'",
                message_ids,
            )
            == 0
        )

    wait_until(all_handed_over, timeout=120, interval=0.5, what="every reply handed over")
    done_at = time.monotonic()
    time.sleep(2)  # a duplicate would show up now: redelivered jobs and sweeps keep running

    creates = twilio.creates()
    named = Counter(named_message(create) for create in creates)
    assert sorted(named) == sorted(message_ids)
    assert set(named.values()) == {1}, [m for m, n in named.items() if n > 1]
    stored = dict(
        stack.sql(
            "SELECT id, external_id FROM conversations_message WHERE id = ANY(%s)", message_ids
        )
    )
    assert stored == {named_message(create): create.sid for create in creates}
    failed = stack.scalar(
        "SELECT count(*) FROM conversations_message WHERE id = ANY(%s) "
        "AND delivery_status = 'failed'",
        message_ids,
    )
    assert failed == 0
    # The kill left claims open, and they were settled by reconciliation.
    reconciled = stack.scalar(
        "SELECT count(*) FROM channels_app_outboundattempt WHERE message_id = ANY(%s) "
        "AND reconciliations > 0",
        message_ids,
    )
    assert reconciled >= 1
    print(
        f"\n{at_kill} creates when killed {killed_at - started:.1f}s after the first reply; "
        f"all {REPLIES} handed over {done_at - killed_at:.1f}s after the kill; "
        f"{reconciled} claims reconciled"
    )
