"""Send claims whose outcome we never saw, settled against Twilio's Messages list: a reply whose
worker died is sent exactly once; linked when Twilio has it, sent again when it does not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app.models import OutboundAttempt
from channels_app.twilio import config, delivery, reconcile
from channels_app.twilio.addressing import message_params
from channels_app.twilio.client import client_for
from channels_app.twilio.tasks import sweep_outbound
from helpdesk.conversations.models import Message
from helpdesk.conversations.services import message_send_reply
from tests.channels_app.twilio.support import (
    ACCOUNT_SID,
    SENDER,
    agent_reply,
    make_channel,
    post_webhook,
    run_together,
    status_payload,
    twilio_conversation,
)
from tests.support import factories
from tests.support.fake_twilio import Reply

pytestmark = pytest.mark.django_db


def age_open_claims(settings) -> None:
    """Let the stale age pass: every open claim is now older than the job timeout."""
    settings.TWILIO_STALE_AFTER_SECONDS = 60
    OutboundAttempt.objects.filter(state="claimed").update(
        claimed_at=timezone.now() - timedelta(minutes=5)
    )


def killed_before_posting(message: Message) -> None:
    """A worker claimed the message and was killed before its POST left."""
    assert delivery.attempt_claim(message_id=message.pk) is not None


def killed_after_posting(message: Message) -> str:
    """A worker claimed the message, Twilio created it, and the worker was killed before it
    heard back. Returns the SID Twilio made."""
    assert delivery.attempt_claim(message_id=message.pk) is not None
    loaded = Message.objects.select_related("channel", "conversation").get(pk=message.pk)
    return client_for(loaded.channel).messages.create(**message_params(loaded)).sid


def test_reconcile_claim_left_open_before_posting_sends_exactly_once(
    fake_twilio, wa_channel, settings
):
    message = agent_reply(twilio_conversation(wa_channel))
    killed_before_posting(message)
    age_open_claims(settings)
    assert sweep_outbound()["reconciled"] == 1
    (create,) = fake_twilio.creates()
    assert create.value("Body") == message.text
    message.refresh_from_db()
    assert (message.delivery_status, message.external_id) == ("queued", create.sid)
    attempt = OutboundAttempt.objects.get(message=message)
    assert (attempt.state, attempt.provider_sid) == ("done", create.sid)
    assert (attempt.attempts, attempt.reconciliations) == (2, 1)
    # Twilio was asked first, by recipient and sender, without a DateSent filter (a message
    # still queued at Twilio has no date_sent).
    (lookup,) = fake_twilio.lists()
    assert lookup.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert lookup.query == {
        "To": ["whatsapp:+4790000002"],
        "From": [f"whatsapp:{SENDER}"],
        "PageSize": ["1000"],
    }
    # A second sweep, or the job run again, changes nothing.
    assert sweep_outbound()["reconciled"] == 0
    assert reconcile.reconcile_delivery(message_id=message.pk) == "skipped"
    assert len(fake_twilio.creates()) == 1
    assert len(fake_twilio.lists()) == 1


def test_reconcile_create_whose_answer_never_came_back_is_linked_with_twilio_status(
    fake_twilio, wa_channel, settings
):
    # Twilio created the message ("sent" by now) but its answer never reached us.
    fake_twilio.script(Reply(201, {"status": "sent"}, delay=0.6))
    message = agent_reply(twilio_conversation(wa_channel))
    delivery.deliver(message)
    (create,) = fake_twilio.creates()
    assert Message.objects.get(pk=message.pk).delivery_status == "pending"
    age_open_claims(settings)
    assert reconcile.reconcile_delivery(message_id=message.pk) == "linked"
    assert len(fake_twilio.creates()) == 1
    message.refresh_from_db()
    assert (message.delivery_status, message.external_id) == ("sent", create.sid)
    assert OutboundAttempt.objects.get(message=message).attempts == 1  # linked, not re-sent


def test_reconcile_found_message_that_failed_at_twilio_keeps_twilio_error(
    fake_twilio, wa_channel, settings
):
    fake_twilio.script(Reply(201, {"status": "undelivered", "error_code": 30003}, delay=0.6))
    message = agent_reply(twilio_conversation(wa_channel))
    delivery.deliver(message)
    age_open_claims(settings)
    assert reconcile.reconcile_delivery(message_id=message.pk) == "linked"
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("undelivered", "30003")
    assert "unreachable" in message.error_message
    assert len(fake_twilio.creates()) == 1


def test_reconcile_link_replays_logged_callbacks_and_releases_the_next_reply(
    client, fake_twilio, wa_channel, settings, django_capture_on_commit_callbacks
):
    conversation = twilio_conversation(wa_channel)
    first = agent_reply(conversation, text="one")
    sid = killed_after_posting(first)
    # Twilio's callback for it came in on a URL that names no message: logged, not linked.
    url = config.status_url(wa_channel)
    assert post_webhook(client, url, status_payload("delivered", sid)).status_code == 204
    second = agent_reply(conversation, text="two")
    delivery.deliver(second)  # parked behind "one", which is still unsent
    assert [c.value("Body") for c in fake_twilio.creates()] == ["one"]
    age_open_claims(settings)
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_outbound()["reconciled"] == 1
    assert [c.value("Body") for c in fake_twilio.creates()] == ["one", "two"]
    first.refresh_from_db()
    assert (first.delivery_status, first.external_id) == ("delivered", sid)
    assert Message.objects.get(pk=second.pk).delivery_status == "queued"


def test_reconcile_does_not_take_a_recorded_copy_of_the_same_text_for_the_reply(
    fake_twilio, wa_channel, settings
):
    conversation = twilio_conversation(wa_channel)
    earlier = agent_reply(conversation, text="Thanks!")
    delivery.deliver(earlier)  # sent and recorded
    later = agent_reply(conversation, text="Thanks!")
    killed_before_posting(later)
    age_open_claims(settings)
    assert reconcile.reconcile_delivery(message_id=later.pk) == "resent"
    first, second = fake_twilio.creates()
    assert Message.objects.get(pk=earlier.pk).external_id == first.sid
    assert Message.objects.get(pk=later.pk).external_id == second.sid


def test_reconcile_a_reply_resent_by_a_killed_reconciliation_is_found_by_the_next(
    fake_twilio, wa_channel, settings
):
    message = agent_reply(twilio_conversation(wa_channel))
    killed_before_posting(message)
    age_open_claims(settings)
    # A reconciliation took the claim over, found nothing, re-sent, and was killed too.
    assert reconcile.attempt_take_over(message_id=message.pk) is not None
    assert reconcile.attempt_take_over(message_id=message.pk) is None  # its lease is fresh
    loaded = Message.objects.select_related("channel", "conversation").get(pk=message.pk)
    client_for(wa_channel).messages.create(**message_params(loaded))
    age_open_claims(settings)
    assert reconcile.reconcile_delivery(message_id=message.pk) == "linked"
    (create,) = fake_twilio.creates()
    message.refresh_from_db()
    assert (message.delivery_status, message.external_id) == ("queued", create.sid)
    assert OutboundAttempt.objects.get(message=message).reconciliations == 2


def test_reconcile_with_messaging_service_matches_the_service_not_a_sender(
    fake_twilio, public_base, settings
):
    service = "MG" + "2" * 32
    channel = make_channel("sms", sender="", messaging_service_sid=service)
    message = agent_reply(twilio_conversation(channel, address="+4790000031"))
    sid = killed_after_posting(message)
    age_open_claims(settings)
    assert reconcile.reconcile_delivery(message_id=message.pk) == "linked"
    assert Message.objects.get(pk=message.pk).external_id == sid
    (lookup,) = fake_twilio.lists()
    assert lookup.query == {"To": ["+4790000031"], "PageSize": ["1000"]}


def test_reconcile_template_reply_that_reached_twilio_is_linked(
    fake_twilio, wa_channel, template, settings
):
    conversation = twilio_conversation(wa_channel)
    attrs = {
        "template": {"content_sid": template.content_sid, "variables": {"name": "Kari"}},
    }
    message = message_send_reply(
        conversation=conversation, author=None, text="Hi Kari", content_attributes=attrs
    )
    sid = killed_after_posting(message)
    age_open_claims(settings)
    assert reconcile.reconcile_delivery(message_id=message.pk) == "linked"
    assert Message.objects.get(pk=message.pk).external_id == sid
    assert len(fake_twilio.creates()) == 1


def test_reconcile_unaccountable_message_to_the_customer_fails_it_visibly_never_resends(
    fake_twilio, wa_channel, settings
):
    message = agent_reply(twilio_conversation(wa_channel))
    killed_before_posting(message)
    # Something else sent from our number to the customer meanwhile (another tool, or a
    # rewrite of our text we cannot recognise): we cannot tell, so we do not send again.
    client_for(wa_channel).messages.create(
        to="whatsapp:+4790000002", from_=f"whatsapp:{SENDER}", body="Spring sale!"
    )
    age_open_claims(settings)
    assert reconcile.reconcile_delivery(message_id=message.pk) == "unsure"
    assert len(fake_twilio.creates()) == 1
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("failed", "interrupted")
    assert "may or may not" in message.error_message


def test_reconcile_customer_who_wrote_from_another_address_since_is_not_guessed(
    fake_twilio, wa_channel, settings
):
    conversation = twilio_conversation(wa_channel)
    message = agent_reply(conversation)
    killed_before_posting(message)
    # The customer wrote from another number after the reply: its send may have gone to
    # either address, and a new one would go to the new one.
    factories.MessageFactory(conversation=conversation, content_attributes={"from": "+4790000077"})
    age_open_claims(settings)
    assert reconcile.reconcile_delivery(message_id=message.pk) == "unsure"
    assert fake_twilio.creates() == []
    assert Message.objects.get(pk=message.pk).error_code == "interrupted"


def test_reconcile_lookup_that_fails_is_tried_again_once_stale(fake_twilio, wa_channel, settings):
    message = agent_reply(twilio_conversation(wa_channel))
    killed_before_posting(message)
    age_open_claims(settings)
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"  # Twilio cannot be asked
    assert reconcile.reconcile_delivery(message_id=message.pk) == "retry"
    attempt = OutboundAttempt.objects.get(message=message)
    assert (attempt.state, attempt.last_error, attempt.reconciliations) == (
        "claimed",
        reconcile.LOOKUP_FAILED,
        1,
    )
    assert Message.objects.get(pk=message.pk).delivery_status == "pending"
    assert sweep_outbound()["reconciled"] == 0  # its lease is fresh
    settings.TWILIO_API_BASE_URL = fake_twilio.base_url
    age_open_claims(settings)
    assert reconcile.reconcile_delivery(message_id=message.pk) == "resent"
    assert len(fake_twilio.creates()) == 1


def test_reconcile_gives_up_visibly_when_twilio_stays_unreachable(
    fake_twilio, wa_channel, settings
):
    message = agent_reply(twilio_conversation(wa_channel))
    killed_before_posting(message)
    settings.TWILIO_API_BASE_URL = "http://127.0.0.1:9"
    outcomes = []
    for _ in range(reconcile.MAX_RECONCILIATIONS + 1):
        age_open_claims(settings)
        outcomes.append(reconcile.reconcile_delivery(message_id=message.pk))
    assert outcomes == ["retry"] * reconcile.MAX_RECONCILIATIONS + ["unsure"]
    message.refresh_from_db()
    assert (message.delivery_status, message.error_code) == ("failed", "interrupted")
    assert fake_twilio.creates() == []


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reconcile_concurrent_jobs_send_once(fake_twilio, settings):
    settings.PUBLIC_BASE_URL = "https://relay.example.com"
    fake_twilio.answer_unscripted(Reply(201, None, delay=0.2))  # the winner is mid-POST
    message = agent_reply(twilio_conversation(make_channel("whatsapp")))
    OutboundAttempt.objects.filter(message=message).delete()
    Message.objects.filter(pk=message.pk).update(delivery_status="pending", external_id=None)
    fake_twilio.forget()  # the on-commit job already sent it once in sync mode
    killed_before_posting(message)
    age_open_claims(settings)
    outcomes = run_together(lambda: reconcile.reconcile_delivery(message_id=message.pk))
    assert sorted(map(str, outcomes)) == ["resent", "skipped", "skipped", "skipped"]
    (create,) = fake_twilio.creates()
    assert Message.objects.get(pk=message.pk).external_id == create.sid


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_reconcile_concurrent_sweepers_send_once(fake_twilio, settings):
    settings.PUBLIC_BASE_URL = "https://relay.example.com"
    fake_twilio.answer_unscripted(Reply(201, None, delay=0.2))
    channel = make_channel("whatsapp")
    messages = [
        agent_reply(twilio_conversation(channel, address=f"+47900001{n:02d}")) for n in range(3)
    ]
    OutboundAttempt.objects.filter(message__in=messages).delete()
    Message.objects.filter(pk__in=[m.pk for m in messages]).update(
        delivery_status="pending", external_id=None
    )
    fake_twilio.forget()
    for message in messages:
        killed_before_posting(message)
    age_open_claims(settings)
    results = run_together(sweep_outbound)
    assert all(isinstance(result, dict) for result in results), results
    creates = fake_twilio.creates()
    assert sorted(c.value("To") for c in creates) == sorted(
        f"whatsapp:+47900001{n:02d}" for n in range(3)
    )
    for message in messages:
        message.refresh_from_db()
        assert message.delivery_status == "queued"
        assert OutboundAttempt.objects.get(message=message).reconciliations == 1
