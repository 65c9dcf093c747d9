"""Outbound delivery through the real twilio library against the local fake Twilio API."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from channels_app import tasks as channel_tasks
from channels_app.models import OutboundAttempt
from channels_app.twilio import config, delivery
from channels_app.twilio.tasks import retry_delivery, sweep_outbound
from helpdesk.conversations.models import Message
from helpdesk.conversations.services import message_send_reply
from helpdesk.core.errors import DeliveryRefused
from helpdesk.customers.models import ChannelOptOut
from tests.channels_app.twilio.support import ACCOUNT_SID, AUTH_TOKEN, SENDER, make_channel
from tests.support import factories
from tests.support.fake_twilio import Reply

pytestmark = pytest.mark.django_db


def conversation_on(channel, *, phone="+4790000002", kind="whatsapp", inbound_hours_ago=1):
    customer = factories.CustomerFactory()
    factories.IdentityFactory(customer=customer, kind=kind, address=phone)
    return factories.ConversationFactory(
        customer=customer,
        channel=channel,
        last_inbound_at=timezone.now() - timedelta(hours=inbound_hours_ago),
        assignee=factories.AgentFactory(),
    )


def reply(conversation, text="Your order ships today.", **kwargs):
    return message_send_reply(conversation=conversation, author=None, text=text, **kwargs)


def run_scheduled_retry(message):
    """Do what the worker does when the retry schedule comes due."""
    scheduled = Schedule.objects.filter(func="channels_app.twilio.tasks.retry_delivery")
    assert scheduled.count() == 1
    assert scheduled.get().next_run > timezone.now() - timedelta(seconds=1)
    scheduled.delete()
    retry_delivery(message.pk)


def test_deliver_whatsapp_sends_through_twilio_and_stores_sid(fake_twilio, wa_channel):
    message = reply(conversation_on(wa_channel))
    channel_tasks.deliver_message(message.pk)
    (request,) = fake_twilio.creates()
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.auth == (ACCOUNT_SID, AUTH_TOKEN)
    assert request.value("To") == "whatsapp:+4790000002"
    assert request.value("From") == f"whatsapp:{SENDER}"
    assert request.value("Body") == "Your order ships today."
    # The callback URL names our message, so a callback can put right a send we never recorded.
    assert request.value("StatusCallback") == config.status_url(wa_channel, message_id=message.pk)
    message.refresh_from_db()
    assert message.delivery_status == "queued"
    assert message.external_id.startswith("SM")


def test_deliver_sms_with_messaging_service(fake_twilio, public_base, db):
    channel = make_channel("sms", sender="", messaging_service_sid="MG" + "1" * 32)
    message = reply(conversation_on(channel, kind="phone", phone="+4790000003"))
    channel_tasks.deliver_message(message.pk)
    (request,) = fake_twilio.creates()
    assert request.value("To") == "+4790000003"
    assert request.value("MessagingServiceSid") == "MG" + "1" * 32
    assert request.value("From") is None


def test_deliver_job_running_twice_sends_once(fake_twilio, wa_channel):
    message = reply(conversation_on(wa_channel))
    channel_tasks.deliver_message(message.pk)
    channel_tasks.deliver_message(message.pk)
    delivery.deliver(Message.objects.get(pk=message.pk))
    assert len(fake_twilio.creates()) == 1


def test_deliver_worker_killed_mid_send_is_not_resent_by_a_redelivered_job(
    fake_twilio, wa_channel, settings
):
    message = reply(conversation_on(wa_channel))
    # A worker claimed the message and died before it posted (or before it heard back).
    assert delivery.attempt_claim(message_id=message.pk) is not None
    # The job is redelivered to a fresh worker (django-q retry): nothing is sent, and the
    # sweeper leaves a claim alone while its job may still be running.
    channel_tasks.deliver_message(message.pk)
    retry_delivery(message.pk)
    assert sweep_outbound()["reconciled"] == 0
    assert fake_twilio.creates() == []
    assert fake_twilio.lists() == []
    assert Message.objects.get(pk=message.pk).delivery_status == "pending"


def test_sweeper_enqueues_pending_message_whose_job_was_lost(fake_twilio, wa_channel, settings):
    settings.TWILIO_STALE_AFTER_SECONDS = 60
    message = reply(conversation_on(wa_channel))  # on_commit never ran: the enqueue is lost
    Message.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=5))
    assert sweep_outbound()["enqueued"] == 1  # the sync test cluster runs it at once
    assert len(fake_twilio.creates()) == 1
    assert Message.objects.get(pk=message.pk).delivery_status == "queued"
    assert sweep_outbound() == {"enqueued": 0, "reconciled": 0, "retried": 0, "repaired": 0}


def test_deliver_retries_after_429_with_backoff_then_sends(fake_twilio, wa_channel):
    fake_twilio.script(Reply.rate_limited(), Reply.created())
    message = reply(conversation_on(wa_channel))
    channel_tasks.deliver_message(message.pk)
    message.refresh_from_db()
    assert message.delivery_status == "pending"
    assert OutboundAttempt.objects.get(message=message).state == "waiting"
    run_scheduled_retry(message)
    assert len(fake_twilio.creates()) == 2
    message.refresh_from_db()
    assert message.delivery_status == "queued"
    assert OutboundAttempt.objects.get(message=message).attempts == 2


def test_deliver_gives_up_after_retries_with_clear_reason(fake_twilio, wa_channel):
    fake_twilio.script(*[Reply.rate_limited()] * 3)
    message = reply(conversation_on(wa_channel))
    channel_tasks.deliver_message(message.pk)
    run_scheduled_retry(message)
    run_scheduled_retry(message)
    assert len(fake_twilio.creates()) == 3
    message.refresh_from_db()
    assert message.delivery_status == "failed"
    assert message.error_code == "20429"
    assert message.error_message


def test_deliver_connection_refused_is_retried(fake_twilio, wa_channel, settings):
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # nothing listens there
    message = reply(conversation_on(wa_channel))
    channel_tasks.deliver_message(message.pk)
    attempt = OutboundAttempt.objects.get(message=message)
    assert attempt.state == "waiting" and attempt.last_error == "connection"
    settings.TWILIO_API_BASE_URL = fake_twilio.base_url
    run_scheduled_retry(message)
    assert Message.objects.get(pk=message.pk).delivery_status == "queued"


@pytest.mark.parametrize(
    ("answer", "twilio_has_it"),
    [(Reply.server_error(), False), (Reply.timeout(0.6), True)],
    ids=["5xx", "timeout"],
)
def test_deliver_ambiguous_answer_is_reconciled_once_stale_never_retried_blindly(
    fake_twilio, wa_channel, answer, twilio_has_it, events, settings
):
    fake_twilio.script(answer)
    message = reply(conversation_on(wa_channel))
    channel_tasks.deliver_message(message.pk)
    assert len(fake_twilio.creates()) == 1
    assert not Schedule.objects.filter(func="channels_app.twilio.tasks.retry_delivery").exists()
    # The outcome is unknown: the claim stays open and the message pending, not failed.
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("pending", "")
    attempt = OutboundAttempt.objects.get(message=message)
    assert (attempt.state, attempt.last_error) == ("claimed", "ambiguous")
    assert "delivery_failed" not in [e.get("kind") for e in events.all()]
    channel_tasks.deliver_message(message.pk)
    assert len(fake_twilio.creates()) == 1
    # Once the claim is stale, Twilio is asked: a message it has is linked, else sent again.
    settings.TWILIO_STALE_AFTER_SECONDS = 60
    OutboundAttempt.objects.filter(pk=attempt.pk).update(
        claimed_at=timezone.now() - timedelta(minutes=5)
    )
    assert sweep_outbound()["reconciled"] == 1
    creates = fake_twilio.creates()
    assert len(creates) == (1 if twilio_has_it else 2)
    message.refresh_from_db()
    assert (message.delivery_status, message.external_id) == ("queued", creates[-1].sid)
    assert sweep_outbound()["reconciled"] == 0
    assert len(fake_twilio.creates()) == len(creates)


@pytest.mark.parametrize(
    ("code", "text"),
    [(21211, "not valid"), (63016, "24-hour window"), (21614, "cannot receive")],
)
def test_deliver_permanent_error_fails_with_code_and_reason(fake_twilio, wa_channel, code, text):
    fake_twilio.script(Reply.error(400, code, "Twilio says no"))
    message = reply(conversation_on(wa_channel))
    channel_tasks.deliver_message(message.pk)
    message.refresh_from_db()
    assert message.delivery_status == "failed"
    assert message.error_code == str(code)
    assert text in message.error_message
    assert len(fake_twilio.creates()) == 1


def test_deliver_unknown_error_keeps_twilio_message(fake_twilio, wa_channel):
    fake_twilio.script(Reply.error(400, 21999, "Something new went wrong"))
    message = reply(conversation_on(wa_channel))
    channel_tasks.deliver_message(message.pk)
    message.refresh_from_db()
    assert message.error_code == "21999"
    assert message.error_message.endswith("Something new went wrong")


def test_deliver_21610_records_opt_out_and_refuses_next_reply(fake_twilio, sms_channel):
    fake_twilio.script(Reply.error(400, 21610, "Attempt to send to unsubscribed recipient"))
    conversation = conversation_on(sms_channel, kind="phone", phone="+4790000004")
    message = reply(conversation)
    channel_tasks.deliver_message(message.pk)
    message.refresh_from_db()
    assert message.delivery_status == "failed" and message.error_code == "21610"
    assert ChannelOptOut.objects.filter(
        customer_id=conversation.customer_id, channel=sms_channel
    ).exists()
    with pytest.raises(DeliveryRefused) as refused:
        reply(conversation, text="Hello again")
    assert refused.value.code == "opted_out"


def test_free_form_outside_whatsapp_window_is_refused_before_twilio(fake_twilio, wa_channel):
    conversation = conversation_on(wa_channel, inbound_hours_ago=25)
    with pytest.raises(DeliveryRefused) as refused:
        reply(conversation)
    assert refused.value.code == "outside_window"
    assert fake_twilio.creates() == []


def test_window_closing_before_the_job_runs_fails_without_calling_twilio(fake_twilio, wa_channel):
    conversation = conversation_on(wa_channel, inbound_hours_ago=23)
    message = reply(conversation)
    conversation.last_inbound_at = timezone.now() - timedelta(hours=25)
    conversation.save(update_fields=["last_inbound_at"])
    channel_tasks.deliver_message(message.pk)
    message.refresh_from_db()
    assert message.delivery_status == "failed" and message.error_code == "outside_window"
    assert fake_twilio.creates() == []


def test_template_outside_window_is_sent_with_content_sid_and_variables(fake_twilio, wa_channel):
    conversation = conversation_on(wa_channel, inbound_hours_ago=30)
    template = {"content_sid": "HX" + "a" * 32, "variables": {"1": "Kari", "2": "#1042"}}
    message = reply(conversation, text="", content_attributes={"template": template})
    channel_tasks.deliver_message(message.pk)
    (request,) = fake_twilio.creates()
    assert request.value("ContentSid") == "HX" + "a" * 32
    assert json.loads(request.value("ContentVariables")) == {"1": "Kari", "2": "#1042"}
    assert request.value("Body") is None


def test_deliver_respects_per_sender_rate(fake_twilio, wa_channel, settings):
    # One send per ~11 days: the window cannot roll over during the test.
    settings.TWILIO_SEND_RATE_PER_SECOND = 1e-6
    conversation = conversation_on(wa_channel)
    first, second = reply(conversation, text="one"), reply(conversation, text="two")
    channel_tasks.deliver_message(first.pk)
    channel_tasks.deliver_message(second.pk)
    assert len(fake_twilio.creates()) == 1
    attempt = OutboundAttempt.objects.get(message=second)
    assert attempt.state == "waiting" and attempt.last_error == "rate_limited"
    assert attempt.next_attempt_at > timezone.now()
    assert Schedule.objects.filter(func="channels_app.twilio.tasks.retry_delivery").count() == 1
    assert Message.objects.get(pk=second.pk).delivery_status == "pending"


def test_deliver_without_recipient_fails_clearly(fake_twilio, wa_channel):
    conversation = factories.ConversationFactory(channel=wa_channel, last_inbound_at=timezone.now())
    message = reply(conversation)
    channel_tasks.deliver_message(message.pk)
    message.refresh_from_db()
    assert message.delivery_status == "failed" and message.error_code == "no_recipient"
    assert fake_twilio.creates() == []


def test_deliver_reply_with_files_sends_signed_media_links(
    fake_twilio, wa_channel, settings, tmp_path
):
    from helpdesk.conversations.services import ReplyFile

    settings.MEDIA_ROOT = tmp_path
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    message = reply(conversation_on(wa_channel), files=[ReplyFile("photo.png", png)])
    channel_tasks.deliver_message(message.pk)
    (request,) = fake_twilio.creates()
    (media,) = request.form["MediaUrl"]
    assert media.startswith(f"{settings.PUBLIC_BASE_URL}/files/")
    path = media[len(settings.PUBLIC_BASE_URL) :]
    from django.test import Client

    served = Client().get(path)  # what Twilio fetches: the file, inert
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
