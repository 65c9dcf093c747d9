"""Status callbacks (signed, logged once, forward-only) and inbound media fetching."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from channels_app import tasks as channel_tasks
from channels_app.models import TwilioStatusEvent
from helpdesk.conversations.models import Attachment, Message
from helpdesk.conversations.services import message_send_reply
from tests.channels_app.twilio.support import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    inbound_url,
    payload,
    post_webhook,
    status_payload,
    status_url,
)
from tests.support import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_message(fake_twilio, wa_channel):
    customer = factories.CustomerFactory()
    factories.IdentityFactory(customer=customer, kind="whatsapp", address="+4790000002")
    conversation = factories.ConversationFactory(
        customer=customer,
        channel=wa_channel,
        last_inbound_at=timezone.now(),
        assignee=factories.AgentFactory(),
    )
    message = message_send_reply(conversation=conversation, author=None, text="On its way")
    channel_tasks.deliver_message(message.pk)
    message.refresh_from_db()
    assert message.external_id
    return message


def callback(client, channel, status, sid, **changes):
    return post_webhook(client, status_url(channel), status_payload(status, sid, **changes))


def test_status_callbacks_move_forward_and_are_logged_once(client, wa_channel, sent_message):
    sid = sent_message.external_id
    for status in ("sent", "delivered", "delivered"):
        assert callback(client, wa_channel, status, sid).status_code == 204
    sent_message.refresh_from_db()
    assert sent_message.delivery_status == "delivered"
    assert TwilioStatusEvent.objects.filter(message_sid=sid).count() == 2


def test_status_callbacks_out_of_order_never_move_back(client, wa_channel, sent_message):
    sid = sent_message.external_id
    for status in ("read", "delivered", "sent", "queued", "sending"):
        callback(client, wa_channel, status, sid)
    sent_message.refresh_from_db()
    assert sent_message.delivery_status == "read"
    assert TwilioStatusEvent.objects.filter(message_sid=sid).count() == 5


def test_status_failed_is_final_and_carries_code(client, wa_channel, sent_message, events):
    sid = sent_message.external_id
    callback(client, wa_channel, "undelivered", sid)
    callback(client, wa_channel, "delivered", sid)
    sent_message.refresh_from_db()
    assert sent_message.delivery_status == "undelivered"
    assert sent_message.error_code == "30003"
    assert "unreachable" in sent_message.error_message
    assert "delivery_failed" in [e.get("kind") for e in events.all()]


def test_status_callback_before_sid_is_stored_is_replayed(client, fake_twilio, wa_channel):
    # Twilio's "delivered" arrives before our worker stored the SID from the create response.
    early_sid = "SM" + "e" * 32
    assert callback(client, wa_channel, "delivered", early_sid).status_code == 204
    from tests.support.fake_twilio import Reply

    fake_twilio.script(Reply(201, {"sid": early_sid}))
    customer = factories.CustomerFactory()
    factories.IdentityFactory(customer=customer, kind="whatsapp", address="+4790000009")
    conversation = factories.ConversationFactory(
        customer=customer, channel=wa_channel, last_inbound_at=timezone.now()
    )
    message = message_send_reply(conversation=conversation, author=None, text="Hi")
    channel_tasks.deliver_message(message.pk)
    message.refresh_from_db()
    assert message.external_id == early_sid
    assert message.delivery_status == "delivered"


def test_status_callback_unsigned_is_403_and_not_logged(client, wa_channel, sent_message):
    response = post_webhook(
        client,
        status_url(wa_channel),
        status_payload("delivered", sent_message.external_id),
        signature="Zm9yZ2Vk",
    )
    assert response.status_code == 403
    assert not TwilioStatusEvent.objects.exists()
    sent_message.refresh_from_db()
    assert sent_message.delivery_status == "queued"


def test_status_callback_malformed_is_400(client, wa_channel):
    response = post_webhook(
        client,
        status_url(wa_channel),
        status_payload("sent", "SM" + "1" * 32, MessageStatus="", SmsStatus=""),
    )
    assert response.status_code == 400
    assert "MessageStatus" in response.content.decode()


def _media_inbound(client, channel, url):
    params = payload("whatsapp_media", MediaUrl0=url)
    assert post_webhook(client, inbound_url(channel), params).status_code == 200
    return Attachment.objects.get(message__external_id=params["MessageSid"])


def test_media_fetched_with_basic_auth_after_redirect_and_short_404(
    client, fake_twilio, wa_channel, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    storage = fake_twilio.add_media("/storage/cat.jpg", b"\xff\xd8jpeg-bytes", "image/jpeg")
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/ME1"
    fake_twilio.add_media(path, b"", "image/jpeg", not_found_first=1, redirect_to=storage)
    # Twilio's recorded URL points at api.twilio.com; the base URL setting redirects it here.
    attachment = _media_inbound(client, wa_channel, "https://api.twilio.com" + path)
    channel_tasks.fetch_attachment(attachment.pk)
    attachment.refresh_from_db()
    assert attachment.status == "stored"
    assert attachment.file.read() == b"\xff\xd8jpeg-bytes"
    assert attachment.filename.endswith(".jpg")
    api_calls = [r for r in fake_twilio.requests if r.path == path]
    assert len(api_calls) == 2 and all(r.auth == (ACCOUNT_SID, AUTH_TOKEN) for r in api_calls)


def test_media_fetch_failure_leaves_visible_placeholder(client, fake_twilio, wa_channel):
    path = "/gone.jpg"
    fake_twilio.add_media(path, b"", "image/jpeg", not_found_first=99)
    attachment = _media_inbound(client, wa_channel, fake_twilio.base_url + path)
    channel_tasks.fetch_attachment(attachment.pk)
    attachment.refresh_from_db()
    assert attachment.status == "failed"
    assert "404" in attachment.error
    assert Message.objects.filter(pk=attachment.message_id).exists()


def test_media_over_size_limit_is_refused_with_reason(client, fake_twilio, wa_channel, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    url = fake_twilio.add_media("/big.jpg", b"x" * 50, "image/jpeg")
    attachment = _media_inbound(client, wa_channel, url)
    channel_tasks.fetch_attachment(attachment.pk)
    attachment.refresh_from_db()
    assert attachment.status == "refused"
    assert "limit" in attachment.error
    assert not attachment.file


def test_media_of_refused_type_is_not_stored(client, fake_twilio, wa_channel):
    url = fake_twilio.add_media("/run.exe", b"MZ", "application/x-msdownload")
    attachment = _media_inbound(client, wa_channel, url)
    channel_tasks.fetch_attachment(attachment.pk)
    attachment.refresh_from_db()
    assert attachment.status == "refused"


def test_media_from_other_hosts_is_never_fetched(
    client, fake_twilio, wa_channel, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    # Same fake server, but addressed as "localhost": not Twilio, not the configured API host.
    url = fake_twilio.add_media("/elsewhere.png", b"png", "image/png").replace(
        "127.0.0.1", "localhost"
    )
    attachment = _media_inbound(client, wa_channel, url)
    channel_tasks.fetch_attachment(attachment.pk)
    assert not [r for r in fake_twilio.requests if r.path == "/elsewhere.png"]
    attachment.refresh_from_db()
    assert attachment.status == "refused" and "Twilio" in attachment.error


def test_media_redirect_into_our_own_network_is_refused(
    client, fake_twilio, wa_channel, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    inside = fake_twilio.add_media("/internal.png", b"png", "image/png").replace(
        "127.0.0.1", "localhost"
    )
    path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM9/Media/ME9"
    fake_twilio.add_media(path, b"", "image/png", redirect_to=inside)
    attachment = _media_inbound(client, wa_channel, "https://api.twilio.com" + path)
    channel_tasks.fetch_attachment(attachment.pk)
    assert not [r for r in fake_twilio.requests if r.path == "/internal.png"]
    attachment.refresh_from_db()
    assert attachment.status == "refused" and "private network" in attachment.error


def test_fetch_attachment_twice_is_harmless(client, fake_twilio, wa_channel, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    url = fake_twilio.add_media("/once.png", b"png", "image/png")
    attachment = _media_inbound(client, wa_channel, url)
    channel_tasks.fetch_attachment(attachment.pk)
    channel_tasks.fetch_attachment(attachment.pk)
    assert len([r for r in fake_twilio.requests if r.path == "/once.png"]) == 1
    assert timezone.now() - attachment.created_at < timedelta(minutes=1)


def test_failed_callback_with_21610_records_opt_out(client, wa_channel, sent_message):
    callback(client, wa_channel, "failed", sent_message.external_id, ErrorCode="21610")
    sent_message.refresh_from_db()
    assert sent_message.delivery_status == "failed" and sent_message.error_code == "21610"
    from helpdesk.customers.models import ChannelOptOut

    assert ChannelOptOut.objects.filter(
        customer_id=sent_message.conversation.customer_id, channel=wa_channel
    ).exists()
