"""The per-sender rate across worker processes, short rate-limit waits, and reply order."""

from __future__ import annotations

import time

import pytest
from django_q.models import Schedule

from channels_app import tasks as channel_tasks
from channels_app.models import OutboundAttempt
from channels_app.twilio import ratelimit
from helpdesk.conversations.models import Message
from tests.channels_app.twilio.support import agent_reply, run_scheduled_retry, twilio_conversation
from tests.support.fake_twilio import Reply

pytestmark = pytest.mark.django_db

RETRY = "channels_app.twilio.tasks.retry_delivery"


def bodies(fake_twilio) -> list[str | None]:
    return [r.value("Body") for r in fake_twilio.creates()]


def test_rate_limit_is_shared_by_worker_processes(settings):
    now = 3_000_000.0
    waits = []
    for worker in range(4):
        # Each django-q worker is its own process with its own local-memory cache.
        settings.CACHES = {
            "default": {
                "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "LOCATION": f"worker-{worker}",
            }
        }
        waits.append(ratelimit.acquire("+1800", rate=1, now=now))
    assert waits[0] == 0.0
    assert waits[1:] == [pytest.approx(1.0)] * 3


def test_rate_limit_refusals_take_no_slot():
    now = 4_000_000.0
    assert ratelimit.acquire("+1900", rate=2, now=now) == 0.0
    assert ratelimit.acquire("+1900", rate=2, now=now) == 0.0
    assert [ratelimit.acquire("+1900", rate=2, now=now) for _ in range(3)] == [
        pytest.approx(0.5)
    ] * 3
    assert ratelimit.acquire("+1900", rate=2, now=now + 0.5) == 0.0
    assert ratelimit.acquire("+1900", rate=2, now=now + 0.5) == pytest.approx(0.5)


def test_deliver_short_rate_limit_wait_costs_what_the_limiter_asks(
    fake_twilio, wa_channel, settings
):
    settings.TWILIO_SEND_RATE_PER_SECOND = 2  # a burst of 2, then one every 0.5 s
    conversation = twilio_conversation(wa_channel)
    messages = [agent_reply(conversation, text=f"m{n}") for n in range(3)]
    started = time.monotonic()
    for message in messages:
        channel_tasks.deliver_message(message.pk)
    elapsed = time.monotonic() - started
    assert bodies(fake_twilio) == ["m0", "m1", "m2"]
    # The third send waited in the worker for its slot (0.5 s after the first), not for the
    # scheduler's next round (~30 s).
    assert 0.45 < elapsed < 2.0
    assert not Schedule.objects.filter(func=RETRY).exists()
    assert Message.objects.get(pk=messages[2].pk).delivery_status == "queued"


def test_deliver_later_reply_waits_for_earlier_unsent_reply(
    fake_twilio, wa_channel, django_capture_on_commit_callbacks
):
    fake_twilio.script(Reply.rate_limited())
    conversation = twilio_conversation(wa_channel)
    first, second = agent_reply(conversation, text="one"), agent_reply(conversation, text="two")
    channel_tasks.deliver_message(first.pk)  # Twilio says 429: "one" waits for its retry
    channel_tasks.deliver_message(second.pk)
    assert bodies(fake_twilio) == ["one"]  # "two" did not overtake it
    parked = OutboundAttempt.objects.get(message=second)
    assert (parked.state, parked.last_error) == ("waiting", "ordered")
    with django_capture_on_commit_callbacks(execute=True):
        run_scheduled_retry(first)  # sends "one", then releases "two"
    assert bodies(fake_twilio) == ["one", "one", "two"]
    assert Message.objects.get(pk=first.pk).delivery_status == "queued"
    assert Message.objects.get(pk=second.pk).delivery_status == "queued"


def test_deliver_reply_after_a_finally_failed_one_is_sent(
    fake_twilio, wa_channel, django_capture_on_commit_callbacks
):
    fake_twilio.script(Reply.rate_limited(), Reply.error(400, 21211, "Invalid 'To'"))
    conversation = twilio_conversation(wa_channel)
    first, second = agent_reply(conversation, text="one"), agent_reply(conversation, text="two")
    channel_tasks.deliver_message(first.pk)
    channel_tasks.deliver_message(second.pk)
    with django_capture_on_commit_callbacks(execute=True):
        run_scheduled_retry(first)
    first.refresh_from_db()
    assert (first.delivery_status, first.error_code) == ("failed", "21211")
    assert bodies(fake_twilio) == ["one", "one", "two"]
    assert Message.objects.get(pk=second.pk).delivery_status == "queued"


def test_deliver_replies_of_other_conversations_do_not_wait(fake_twilio, wa_channel):
    fake_twilio.script(Reply.rate_limited())
    waiting = agent_reply(twilio_conversation(wa_channel, address="+4790000011"), text="one")
    other = agent_reply(twilio_conversation(wa_channel, address="+4790000012"), text="two")
    channel_tasks.deliver_message(waiting.pk)
    channel_tasks.deliver_message(other.pk)
    assert bodies(fake_twilio) == ["one", "two"]
