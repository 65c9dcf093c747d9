"""Inbound webhooks: signatures, parsing of recorded payloads, idempotency, opt-out keywords."""

from __future__ import annotations

import pytest

from helpdesk.conversations.models import Attachment, Message
from helpdesk.customers.models import ChannelOptOut, ContactIdentity
from tests.channels_app.twilio.support import inbound_url, payload, post_webhook, sign

pytestmark = pytest.mark.django_db


def test_inbound_sms_stored_and_answered_with_empty_twiml(client, sms_channel):
    response = post_webhook(client, inbound_url(sms_channel), payload("sms"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml"
    assert response.content.decode().endswith("<Response/>")
    message = Message.objects.get(external_id="SM11111111111111111111111111111111")
    assert message.text == "Hi, where is my order #1042?"
    assert message.channel_id == sms_channel.pk
    assert ContactIdentity.objects.filter(kind="phone", address="+4790000001").exists()


def test_inbound_whatsapp_text_uses_wa_id_and_profile_name(client, wa_channel):
    response = post_webhook(client, inbound_url(wa_channel), payload("whatsapp_text"))
    assert response.status_code == 200
    message = Message.objects.get(external_id="SM22222222222222222222222222222222")
    identity = ContactIdentity.objects.get(kind="whatsapp", address="+4790000002")
    assert identity.verified
    assert message.conversation.customer_id == identity.customer_id
    assert message.conversation.customer.name == "Kari Nordmann"


def test_inbound_whatsapp_button_reply_keeps_payload(client, wa_channel):
    post_webhook(client, inbound_url(wa_channel), payload("whatsapp_button"))
    message = Message.objects.get(external_id="SM44444444444444444444444444444444")
    assert message.text == "Track my order"
    assert message.content_attributes["button"] == {
        "text": "Track my order",
        "payload": "track_order_1042",
    }
    assert message.content_attributes["in_reply_to_sid"] == "SM99999999999999999999999999999999"


def test_inbound_whatsapp_location_is_structured(client, wa_channel):
    post_webhook(client, inbound_url(wa_channel), payload("whatsapp_location"))
    message = Message.objects.get(external_id="SM55555555555555555555555555555555")
    location = message.content_attributes["location"]
    assert location["latitude"] == pytest.approx(59.9127)
    assert location["longitude"] == pytest.approx(10.7461)
    assert message.text == "Pickup point"


def test_inbound_media_creates_pending_attachment(client, wa_channel):
    post_webhook(client, inbound_url(wa_channel), payload("whatsapp_media"))
    message = Message.objects.get(external_id="MM33333333333333333333333333333333")
    attachment = Attachment.objects.get(message=message)
    assert attachment.content_type == "image/jpeg"
    assert attachment.source_url.startswith("https://api.twilio.com/")
    assert attachment.status == "pending"


@pytest.mark.parametrize("signature", [None, "", "bm90LXRoZS1yaWdodC1zaWduYXR1cmU="])
def test_inbound_missing_or_forged_signature_is_403_and_stores_nothing(
    client, sms_channel, signature
):
    response = post_webhook(client, inbound_url(sms_channel), payload("sms"), signature=signature)
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_inbound_signed_with_another_token_is_403(client, sms_channel):
    url = inbound_url(sms_channel)
    params = payload("sms")
    forged = sign(url, params, token="someone-elses-token")
    response = post_webhook(client, url, params, signature=forged)
    assert response.status_code == 403
    assert not Message.objects.exists()


def test_inbound_tampered_body_is_403(client, sms_channel):
    url = inbound_url(sms_channel)
    params = payload("sms")
    signature = sign(url, params)
    params["Body"] = "Send me a refund"
    assert post_webhook(client, url, params, signature=signature).status_code == 403
    assert not Message.objects.exists()


def test_inbound_signature_checked_against_public_url_not_request_host(
    client, sms_channel, settings
):
    # Twilio signed the public https URL; the request reaches us as http://testserver.
    url = inbound_url(sms_channel)
    assert url.startswith("https://relay.example.com/")
    response = post_webhook(client, url, payload("sms"))
    assert response.status_code == 200
    wrong = url.replace("https://relay.example.com", "http://testserver")
    response = post_webhook(
        client, url, payload("sms", MessageSid="SM" + "a" * 32), signed_url=wrong
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("base", "signed_base"),
    [
        ("https://relay.example.com", "https://relay.example.com:443"),
        ("https://relay.example.com:443", "https://relay.example.com"),
        ("https://relay.example.com:8443", "https://relay.example.com:8443"),
    ],
)
def test_inbound_signature_with_and_without_default_port(
    client, sms_channel, settings, base, signed_base
):
    settings.PUBLIC_BASE_URL = base
    url = inbound_url(sms_channel)
    signed = signed_base + url[len(base) :]
    assert post_webhook(client, url, payload("sms"), signed_url=signed).status_code == 200


def test_inbound_signature_includes_query_string(client, sms_channel):
    base, hash_, overrides = inbound_url(sms_channel).partition("#")
    url = f"{base}?source=pool{hash_}{overrides}"  # the query goes before the fragment
    assert post_webhook(client, url, payload("sms")).status_code == 200
    response = post_webhook(
        client,
        url,
        payload("sms", MessageSid="SM" + "b" * 32),
        signed_url=inbound_url(sms_channel),
    )
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"MessageSid": "", "SmsMessageSid": "", "SmsSid": ""}, "MessageSid is missing"),
        ({"MessageSid": "not-a-sid"}, "MessageSid is not a Twilio SID"),
        ({"From": ""}, "From is missing"),
        ({"NumMedia": "x"}, "NumMedia must be a number"),
        ({"NumMedia": "1"}, "MediaUrl0 is missing"),
        ({"Latitude": "north", "Longitude": "1"}, "Latitude is not a number"),
        ({"AccountSid": "AC" + "f" * 32}, "AccountSid does not belong"),
        ({"From": "whatsapp:+4790000001"}, "From does not match the channel kind"),
    ],
)
def test_inbound_malformed_payload_is_400_with_reason(client, sms_channel, changes, reason):
    response = post_webhook(client, inbound_url(sms_channel), payload("sms", **changes))
    assert response.status_code == 400
    assert reason in response.content.decode()
    assert not Message.objects.exists()


def test_inbound_unknown_channel_is_404(client, sms_channel):
    unknown = "00000000-0000-4000-8000-000000000000"
    url = inbound_url(sms_channel).replace(str(sms_channel.public_id), unknown)
    assert post_webhook(client, url, payload("sms")).status_code == 404


def test_inbound_get_is_405(client, sms_channel):
    path = inbound_url(sms_channel)[len("https://relay.example.com") :]
    assert client.get(path).status_code == 405


def test_inbound_duplicate_delivery_stores_once_and_answers_200(client, sms_channel):
    url = inbound_url(sms_channel)
    first = post_webhook(client, url, payload("sms"))
    second = post_webhook(client, url, payload("sms"))
    assert first.status_code == second.status_code == 200
    assert Message.objects.filter(direction="inbound").count() == 1


@pytest.mark.parametrize(
    "word",
    ["STOP", "stop", " Unsubscribe ", "END", "quit", "StopAll", "REVOKE", "optout", "Cancel"],
)
def test_inbound_stop_keywords_opt_out(client, sms_channel, word):
    post_webhook(client, inbound_url(sms_channel), payload("sms", Body=word))
    message = Message.objects.get()
    assert ChannelOptOut.objects.filter(
        customer_id=message.conversation.customer_id, channel=sms_channel
    ).exists()


def test_inbound_stop_inside_a_sentence_is_not_an_opt_out(client, sms_channel):
    post_webhook(client, inbound_url(sms_channel), payload("sms", Body="please stop the order"))
    assert not ChannelOptOut.objects.exists()


@pytest.mark.parametrize("word", ["START", "yes", "Unstop"])
def test_inbound_start_keywords_opt_back_in(client, sms_channel, word):
    url = inbound_url(sms_channel)
    post_webhook(client, url, payload("sms", Body="STOP"))
    assert ChannelOptOut.objects.count() == 1
    post_webhook(client, url, payload("sms", Body=word, MessageSid="SM" + "c" * 32))
    assert not ChannelOptOut.objects.exists()
