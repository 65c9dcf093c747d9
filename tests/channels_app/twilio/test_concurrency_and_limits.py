"""Races (on PostgreSQL: real concurrent transactions) and the per-sender rate limit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import timezone

from channels_app import tasks as channel_tasks
from channels_app.models import TwilioStatusEvent
from channels_app.twilio import ratelimit
from channels_app.twilio.optout import customer_opt_in, customer_opt_out, keyword_of
from helpdesk.conversations.models import Message
from helpdesk.conversations.services import message_send_reply
from helpdesk.customers.models import ChannelOptOut
from tests.channels_app.twilio.support import (
    inbound_url,
    make_channel,
    payload,
    post_webhook,
    run_together,
    status_payload,
    status_url,
)
from tests.support import factories


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_webhooks_store_one_message(settings):
    settings.PUBLIC_BASE_URL = "https://relay.example.com"
    channel = make_channel("sms")
    url, params = inbound_url(channel), payload("sms")
    results = run_together(lambda: post_webhook(Client(), url, params).status_code)
    assert results == [200, 200, 200, 200]
    assert Message.objects.filter(direction="inbound").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_status_callbacks_log_each_status_once(settings):
    settings.PUBLIC_BASE_URL = "https://relay.example.com"
    channel = make_channel("whatsapp")
    sid = "SM" + "d" * 32
    params = status_payload("delivered", sid)
    results = run_together(lambda: post_webhook(Client(), status_url(channel), params).status_code)
    assert results == [204, 204, 204, 204]
    assert TwilioStatusEvent.objects.filter(message_sid=sid).count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_delivery_jobs_send_once(fake_twilio, settings):
    settings.PUBLIC_BASE_URL = "https://relay.example.com"
    channel = make_channel("whatsapp")
    customer = factories.CustomerFactory()
    factories.IdentityFactory(customer=customer, kind="whatsapp", address="+4790000007")
    conversation = factories.ConversationFactory(
        customer=customer, channel=channel, last_inbound_at=timezone.now() - timedelta(hours=1)
    )
    message = message_send_reply(conversation=conversation, author=None, text="Hello")
    fake_twilio.requests.clear()  # the on-commit job already ran once in sync mode
    Message.objects.filter(pk=message.pk).update(delivery_status="pending", external_id=None)
    from channels_app.models import OutboundAttempt

    OutboundAttempt.objects.filter(message=message).delete()
    run_together(lambda: channel_tasks.deliver_message(message.pk))
    assert len(fake_twilio.creates()) == 1
    assert Message.objects.get(pk=message.pk).delivery_status == "queued"


def test_rate_limit_grants_rate_per_second_per_sender(db):
    cache.clear()
    now = 1_000_000.25
    granted = [ratelimit.acquire("+1500", rate=3, now=now) for _ in range(5)]
    assert granted[:3] == [0.0, 0.0, 0.0]
    assert all(0 < wait <= 0.75 for wait in granted[3:])
    assert ratelimit.acquire("+1600", rate=3, now=now) == 0.0  # another sender
    assert ratelimit.acquire("+1500", rate=3, now=now + 1) == 0.0  # next second


def test_rate_limit_below_one_per_second(db):
    cache.clear()
    now = 2_000_000.0
    assert ratelimit.acquire("+1700", rate=0.5, now=now) == 0.0
    assert ratelimit.acquire("+1700", rate=0.5, now=now + 1) == pytest.approx(1.0)
    assert ratelimit.acquire("+1700", rate=0.5, now=now + 2) == 0.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("STOP", "out"),
        ("stop!", "out"),
        ("  optout ", "out"),
        ("start", "in"),
        ("Yes", "in"),
        ("stop it", ""),
        ("", ""),
        ("STOPPED", ""),
    ],
)
def test_keyword_of(text, expected):
    assert keyword_of(text) == expected


@pytest.mark.django_db
def test_opt_out_and_in_are_idempotent():
    channel = make_channel("sms")
    customer = factories.CustomerFactory()
    assert customer_opt_out(customer_id=customer.pk, channel=channel, reason="STOP")
    assert not customer_opt_out(customer_id=customer.pk, channel=channel, reason="STOP")
    assert ChannelOptOut.objects.count() == 1
    assert customer_opt_in(customer_id=customer.pk, channel=channel)
    assert not customer_opt_in(customer_id=customer.pk, channel=channel)


@pytest.mark.django_db
def test_opted_out_reply_is_refused_with_clear_reason(client, settings):
    settings.PUBLIC_BASE_URL = "https://relay.example.com"
    channel = make_channel("sms")
    post_webhook(client, inbound_url(channel), payload("sms", Body="STOP"))
    conversation = Message.objects.get().conversation
    from helpdesk.core.errors import DeliveryRefused

    with pytest.raises(DeliveryRefused) as refused:
        message_send_reply(conversation=conversation, author=None, text="Hello?")
    assert "opted out" in refused.value.message
