"""Putting sends right that we could not record: crashes while recording, killed workers,
ambiguous answers, and status callbacks that arrive early or fail half-way."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.test import Client
from django.utils import timezone

from channels_app import tasks as channel_tasks
from channels_app.ingest.processor import ingest_drain
from channels_app.models import OutboundAttempt, RawInbound, TwilioStatusEvent
from channels_app.twilio import config, delivery
from channels_app.twilio.addressing import message_params
from channels_app.twilio.client import client_for
from channels_app.twilio.tasks import retry_delivery, sweep_outbound
from helpdesk.conversations.models import Message
from helpdesk.customers.models import ChannelOptOut
from tests.channels_app.twilio.support import (
    agent_reply,
    post_webhook,
    status_payload,
    twilio_calls_back,
    twilio_conversation,
)
from tests.support.fake_twilio import Reply

pytestmark = pytest.mark.django_db


def crash_on(prefix: str):
    """A database fault: the statement starting with `prefix` fails (the process "dies")."""

    def wrapper(execute, sql, params, many, context):
        if sql.startswith(prefix):
            raise OperationalError("simulated crash")
        return execute(sql, params, many, context)

    return wrapper


def make_claims_stale(settings, message: Message) -> None:
    settings.TWILIO_STALE_AFTER_SECONDS = 60
    OutboundAttempt.objects.filter(message=message).update(
        claimed_at=timezone.now() - timedelta(minutes=5)
    )


def test_deliver_crash_while_recording_leaves_nothing_half_done(
    client, fake_twilio, wa_channel, settings
):
    message = agent_reply(twilio_conversation(wa_channel))
    crash = crash_on('UPDATE "conversations_message"')
    with connection.execute_wrapper(crash), pytest.raises(OperationalError):
        channel_tasks.deliver_message(message.pk)
    (create,) = fake_twilio.creates()
    attempt = OutboundAttempt.objects.get(message=message)
    assert (attempt.state, attempt.provider_sid) == ("claimed", "")  # the claim stays open
    make_claims_stale(settings, message)
    assert sweep_outbound()["reconciled"] == 1  # Twilio lists the message: linked, not re-sent
    assert len(fake_twilio.creates()) == 1
    message.refresh_from_db()
    assert (message.delivery_status, message.external_id) == ("queued", create.sid)
    twilio_calls_back(client, create, "delivered")
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("delivered", "")


def test_sweeper_repairs_send_recorded_only_on_its_attempt(fake_twilio, wa_channel, settings):
    # Left by a crash before recording was one transaction: attempt done, message pending.
    message = agent_reply(twilio_conversation(wa_channel))
    sid = "SM" + "7" * 32
    OutboundAttempt.objects.create(message=message, state="done", attempts=1, provider_sid=sid)
    TwilioStatusEvent.objects.create(channel=wa_channel, message_sid=sid, status="delivered")
    assert sweep_outbound()["repaired"] == 1
    message.refresh_from_db()
    assert (message.delivery_status, message.external_id) == ("delivered", sid)
    assert sweep_outbound()["repaired"] == 0


@pytest.mark.parametrize("callback_first", [True, False], ids=["callback-first", "sweep-first"])
def test_worker_killed_after_twilio_accepted_create_is_linked_not_resent(
    client, fake_twilio, wa_channel, settings, callback_first
):
    message = agent_reply(twilio_conversation(wa_channel))
    # A worker claimed the message and Twilio created it; the worker died before it stored
    # the SID (it did exactly what `deliver` does up to that point).
    assert delivery.attempt_claim(message_id=message.pk) is not None
    loaded = Message.objects.select_related("channel", "conversation").get(pk=message.pk)
    client_for(wa_channel).messages.create(**message_params(loaded))
    (create,) = fake_twilio.creates()
    # The job is redelivered and retried: nothing is sent a second time.
    channel_tasks.deliver_message(message.pk)
    retry_delivery(message.pk)
    assert len(fake_twilio.creates()) == 1
    make_claims_stale(settings, message)
    if callback_first:
        twilio_calls_back(client, create, "sent")
        assert sweep_outbound()["reconciled"] == 0
        assert fake_twilio.lists() == []
    else:
        assert sweep_outbound()["reconciled"] == 1  # Twilio's list has it: linked
        assert Message.objects.get(pk=message.pk).external_id == create.sid
        twilio_calls_back(client, create, "sent")
    twilio_calls_back(client, create, "delivered")
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code, message.error_message) == (
        "delivered",
        "",
        "",
    )
    assert message.external_id == create.sid
    attempt = OutboundAttempt.objects.get(message=message)
    assert (attempt.state, attempt.provider_sid) == ("done", create.sid)
    channel_tasks.deliver_message(message.pk)
    assert len(fake_twilio.creates()) == 1


def test_ambiguous_send_that_went_out_becomes_delivered(client, fake_twilio, wa_channel):
    fake_twilio.script(Reply.timeout(0.6))
    message = agent_reply(twilio_conversation(wa_channel))
    channel_tasks.deliver_message(message.pk)
    message.refresh_from_db()
    assert (message.delivery_status, message.external_id) == ("pending", None)
    (create,) = fake_twilio.creates()
    twilio_calls_back(client, create, "delivered")
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("delivered", "")
    assert message.external_id == create.sid


def test_ambiguous_send_that_failed_at_twilio_keeps_twilio_reason(client, fake_twilio, wa_channel):
    fake_twilio.script(Reply.server_error())
    message = agent_reply(twilio_conversation(wa_channel))
    channel_tasks.deliver_message(message.pk)
    # A 5xx may still have created the message: Twilio's own verdict replaces "ambiguous".
    fake_twilio.creates()[0].sid = "SM" + "8" * 32
    twilio_calls_back(client, fake_twilio.creates()[0], "undelivered", ErrorCode="30003")
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("undelivered", "30003")
    assert "unreachable" in message.error_message


def test_real_failure_stays_final_when_callback_names_the_message(client, fake_twilio, wa_channel):
    fake_twilio.script(Reply.error(400, 21211, "Invalid 'To' Phone Number"))
    message = agent_reply(twilio_conversation(wa_channel))
    channel_tasks.deliver_message(message.pk)
    url = config.status_url(wa_channel, message_id=message.pk)
    response = post_webhook(client, url, status_payload("delivered", "SM" + "9" * 32))
    assert response.status_code == 204
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("failed", "21211")
    assert message.external_id is None


def test_status_callback_that_fails_half_way_is_kept_and_retried(fake_twilio, wa_channel):
    """The callback is stored before it is answered: processing that fails half way rolls back
    and is retried by the ingest process (Twilio never needs to send it again)."""
    message = agent_reply(twilio_conversation(wa_channel))
    channel_tasks.deliver_message(message.pk)
    (create,) = fake_twilio.creates()
    twilio = Client(raise_request_exception=False)
    with connection.execute_wrapper(crash_on('UPDATE "conversations_message"')):
        assert twilio_calls_back(twilio, create, "delivered").status_code == 204
    row = RawInbound.objects.get(kind="twilio.status")
    assert (row.state, row.attempts) == ("pending", 1)
    assert "simulated crash" in row.last_error
    assert Message.objects.get(pk=message.pk).delivery_status != "delivered"
    RawInbound.objects.filter(pk=row.pk).update(available_at=timezone.now())  # backoff over
    ingest_drain()
    assert Message.objects.get(pk=message.pk).delivery_status == "delivered"
    assert TwilioStatusEvent.objects.filter(message_sid=create.sid).count() == 1
    assert twilio_calls_back(twilio, create, "delivered").status_code == 204  # a repeat: no-op
    assert RawInbound.objects.filter(kind="twilio.status").count() == 1


def test_early_opt_out_callback_is_replayed_with_its_opt_out(client, fake_twilio, sms_channel):
    # Twilio's "failed 21610" beats the create response (and names no message of ours).
    early_sid = "SM" + "a" * 32
    url = config.status_url(sms_channel)
    payload = status_payload("failed", early_sid, ErrorCode="21610")
    assert post_webhook(client, url, payload).status_code == 204
    fake_twilio.script(Reply(201, {"sid": early_sid}))
    conversation = twilio_conversation(sms_channel, address="+4790000021")
    message = agent_reply(conversation)
    channel_tasks.deliver_message(message.pk)
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("failed", "21610")
    assert ChannelOptOut.objects.filter(
        customer_id=conversation.customer_id, channel=sms_channel
    ).exists()
