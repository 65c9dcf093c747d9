"""Batched processing of stored webhooks: order per sender, poison rows, parking, replay."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from channels_app.ingest.processor import (
    MAX_ATTEMPTS,
    ingest_drain,
    ingest_process_batch,
    raw_inbound_replay,
)
from channels_app.models import RawInbound
from channels_app.twilio.accept import KIND_MESSAGE
from helpdesk.conversations.models import Message
from tests.channels_app.twilio.support import make_channel, payload

pytestmark = pytest.mark.django_db


def stored(channel, sid: str, sender: str = "+4790000001", **changes: str) -> RawInbound:
    params = payload("sms", MessageSid=sid, SmsSid=sid, SmsMessageSid=sid, From=sender, **changes)
    return RawInbound.objects.create(
        channel=channel,
        kind=KIND_MESSAGE,
        external_id=sid,
        order_key=f"{channel.pk}:{sender}",
        payload={"params": params},
    )


def sid(n: int) -> str:
    return f"SM{n:032d}"


def test_ingest_process_batch_makes_messages_and_marks_rows_done():
    channel = make_channel("sms")
    rows = [stored(channel, sid(n), f"+479000000{n % 3}", Body=f"text {n}") for n in range(6)]
    assert ingest_process_batch() == 6
    assert Message.objects.filter(channel=channel).count() == 6
    assert set(RawInbound.objects.values_list("state", flat=True)) == {"done"}
    assert all(r.processed_at for r in RawInbound.objects.filter(pk__in=[r.pk for r in rows]))
    assert ingest_process_batch() == 0


def test_ingest_keeps_a_senders_order_behind_a_row_that_is_backing_off():
    channel = make_channel("sms")
    first = stored(channel, sid(1), "+4790000001", Body="first")
    RawInbound.objects.filter(pk=first.pk).update(
        available_at=timezone.now() + timedelta(seconds=30)
    )
    stored(channel, sid(2), "+4790000001", Body="second")
    stored(channel, sid(3), "+4790000002", Body="other sender")
    ingest_drain()
    assert list(Message.objects.values_list("text", flat=True)) == ["other sender"]
    RawInbound.objects.filter(pk=first.pk).update(available_at=timezone.now())
    ingest_drain()
    texts = list(
        Message.objects.filter(text__in=["first", "second"]).order_by("pk").values_list(
            "text", flat=True
        )
    )
    assert texts == ["first", "second"]


def crash_on_poison(execute, sql, params, many, context):
    """The database refuses any statement that carries the text 'poison'."""
    if "poison" in repr(params):
        raise RuntimeError("cannot digest this")
    return execute(sql, params, many, context)


def test_ingest_poison_row_fails_alone_is_retried_then_parked():
    channel = make_channel("sms")
    good = stored(channel, sid(1), "+4790000001", Body="fine")
    bad = stored(channel, sid(2), "+4790000002", Body="poison")
    with connection.execute_wrapper(crash_on_poison):
        for attempt in range(1, MAX_ATTEMPTS + 1):
            RawInbound.objects.filter(pk=bad.pk).update(available_at=timezone.now())
            ingest_drain()
            bad.refresh_from_db()
            assert bad.attempts == attempt
    assert bad.state == "parked"
    assert "cannot digest this" in bad.last_error
    good.refresh_from_db()
    assert good.state == "done"
    assert Message.objects.filter(text="fine").count() == 1
    assert not Message.objects.filter(text="poison").exists()

    assert raw_inbound_replay(row_ids=[bad.pk, good.pk]) == 1  # only parked rows move
    ingest_drain()
    bad.refresh_from_db()
    assert (bad.state, bad.attempts, bad.last_error) == ("done", 0, "")
    assert Message.objects.filter(text="poison").count() == 1


def test_ingest_parks_a_row_that_can_never_be_processed_at_once():
    channel = make_channel("sms")
    row = stored(channel, sid(1))
    RawInbound.objects.filter(pk=row.pk).update(payload={"params": {"From": ""}})
    ingest_drain()
    row.refresh_from_db()
    assert (row.state, row.attempts) == ("parked", 1)


def test_ingest_repeated_row_processing_is_harmless():
    """A batch that commits its messages but dies before marking rows done is re-run: the
    message's unique provider id makes the second run a no-op."""
    channel = make_channel("sms")
    row = stored(channel, sid(1))
    ingest_drain()
    RawInbound.objects.filter(pk=row.pk).update(state="pending")
    ingest_drain()
    assert Message.objects.filter(external_id=sid(1)).count() == 1


def test_run_ingest_once_processes_what_is_due(capsys):
    channel = make_channel("sms")
    stored(channel, sid(1))
    call_command("run_ingest", "--once")
    assert "1 rows processed" in capsys.readouterr().out
    assert Message.objects.filter(external_id=sid(1)).exists()


def test_ingest_rows_behind_a_backing_off_row_never_fill_a_batch():
    """Five rows of a sender wait behind its row in backoff; a sixth sender's row is still
    processed by a batch of five (the wait is decided in the claim, not after it)."""
    channel = make_channel("sms")
    first = stored(channel, sid(1), "+4790000001", Body="first")
    RawInbound.objects.filter(pk=first.pk).update(
        available_at=timezone.now() + timedelta(seconds=30)
    )
    for n in range(2, 7):
        stored(channel, sid(n), "+4790000001", Body=f"waits {n}")
    stored(channel, sid(9), "+4790000009", Body="other sender")
    assert ingest_process_batch(limit=5) == 1
    assert list(Message.objects.values_list("text", flat=True)) == ["other sender"]


def crash_on(text: str, *, times: int):
    """The database refuses the first `times` statements that carry `text`."""
    crashed = []

    def wrapper(execute, sql, params, many, context):
        if text in repr(params) and len(crashed) < times:
            crashed.append(True)
            raise RuntimeError("a passing failure")
        return execute(sql, params, many, context)

    return wrapper


def test_ingest_row_by_row_keeps_a_senders_order_after_a_failure():
    """The batch fails, the rows go one by one; the sender's first row fails once: its second
    row waits for the retry instead of overtaking it."""
    channel = make_channel("sms")
    first = stored(channel, sid(1), "+4790000001", Body="first fails once")
    stored(channel, sid(2), "+4790000001", Body="second")
    # Refused in the batch's INSERT, then once more on its own.
    with connection.execute_wrapper(crash_on("first fails once", times=2)):
        ingest_drain()
    assert not Message.objects.exists()
    first.refresh_from_db()
    assert (first.state, first.attempts) == ("pending", 1)
    RawInbound.objects.filter(pk=first.pk).update(available_at=timezone.now())
    ingest_drain()
    assert list(Message.objects.order_by("pk").values_list("text", flat=True)) == [
        "first fails once",
        "second",
    ]


def test_ingest_a_batch_that_fails_as_a_whole_is_processed_one_by_one():
    channel = make_channel("sms")
    stored(channel, sid(1), "+4790000001", Body="one")
    stored(channel, sid(2), "+4790000002", Body="two")

    def fail_marking_many_done(execute, sql, params, many, context):
        params = params or ()
        marks_done = sql.startswith('UPDATE "channels_app_rawinbound"') and "done" in params
        if marks_done and sum(isinstance(p, int) for p in params) > 1:
            raise RuntimeError("the whole batch's transaction broke")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(fail_marking_many_done):
        assert ingest_process_batch() == 2
    assert set(RawInbound.objects.values_list("state", flat=True)) == {"done"}
    assert Message.objects.count() == 2
