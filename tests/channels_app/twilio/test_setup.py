"""Setting up Twilio channels: the create_channel command and the Channel admin."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from channels_app.models import WhatsAppTemplate
from helpdesk.inboxes.models import Channel
from tests.channels_app.twilio.support import ACCOUNT_SID, AUTH_TOKEN, payload, post_webhook
from tests.support import factories

pytestmark = pytest.mark.django_db


def run_create(*args: str) -> dict:
    out = io.StringIO()
    call_command("create_channel", *args, stdout=out)
    return json.loads(out.getvalue())


def test_create_channel_prints_id_and_exact_urls(public_base, client):
    result = run_create(
        "twilio-whatsapp",
        "--name",
        "Shop WhatsApp",
        "--account-sid",
        ACCOUNT_SID,
        "--auth-token",
        AUTH_TOKEN,
        "--sender",
        "whatsapp:+15005550006",
    )
    channel = Channel.objects.get(pk=result["id"])
    assert channel.kind == "whatsapp"
    assert channel.credential("sender") == "+15005550006"
    base = f"https://relay.example.com/webhooks/twilio/{channel.public_id}"
    overrides = "#rc=3&rp=ct,rt,5xx&rt=5000"  # Twilio retries a 503, a read timeout
    assert result == {
        "id": channel.pk,
        "inbound_url": f"{base}/inbound{overrides}",
        "status_url": f"{base}/status{overrides}",
    }
    # The printed URL is the one Twilio signs (fragment included) and calls (without it).
    response = post_webhook(client, result["inbound_url"], payload("whatsapp_text"))
    assert response.status_code == 200


def test_create_channel_with_messaging_service(public_base):
    result = run_create(
        "twilio-sms",
        "--name",
        "SMS pool",
        "--account-sid",
        ACCOUNT_SID,
        "--auth-token",
        AUTH_TOKEN,
        "--messaging-service-sid",
        "MG" + "0" * 32,
    )
    channel = Channel.objects.get(pk=result["id"])
    assert channel.kind == "sms"
    assert channel.credential("messaging_service_sid") == "MG" + "0" * 32


def test_create_channel_refuses_bad_credentials(public_base):
    with pytest.raises(CommandError) as error:
        run_create("twilio-sms", "--name", "x", "--account-sid", "nope", "--auth-token", "t")
    assert "account_sid" in str(error.value) and "sender" in str(error.value)
    assert not Channel.objects.exists()


def test_channel_admin_list_hides_secrets(client, manager, public_base):
    factories.ChannelFactory(
        kind="sms",
        name="SMS",
        credentials={
            "account_sid": ACCOUNT_SID,
            "auth_token": "very-secret-token",
            "sender": "+15005550006",
        },
    )
    client.force_login(manager)
    response = client.get(reverse("admin:inboxes_channel_changelist"))
    assert response.status_code == 200
    assert "very-secret-token" not in response.content.decode()


def test_channel_admin_change_page_shows_urls_never_the_token(client, manager, sms_channel):
    client.force_login(manager)
    response = client.get(reverse("admin:inboxes_channel_change", args=[sms_channel.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"https://relay.example.com/webhooks/twilio/{sms_channel.public_id}/inbound" in html
    assert f"https://relay.example.com/webhooks/twilio/{sms_channel.public_id}/status" in html
    assert AUTH_TOKEN not in html


def _form(channel, **changes):
    data = {
        "kind": channel.kind,
        "name": channel.name,
        "is_active": "on",
        "default_team": "",
        "reopen_window_hours": "24",
        "settings": "{}",
        "twilio_account_sid": ACCOUNT_SID,
        "twilio_auth_token": "",
        "twilio_sender": "+15005550006",
        "twilio_messaging_service_sid": "",
        "credentials_json": "",
    }
    data.update(changes)
    return data


def test_channel_admin_empty_token_keeps_saved_token(client, manager, sms_channel):
    client.force_login(manager)
    url = reverse("admin:inboxes_channel_change", args=[sms_channel.pk])
    response = client.post(url, _form(sms_channel, twilio_sender="+4791234567"))
    assert response.status_code == 302
    sms_channel.refresh_from_db()
    assert sms_channel.credential("auth_token") == AUTH_TOKEN
    assert sms_channel.credential("sender") == "+4791234567"
    client.post(url, _form(sms_channel, twilio_auth_token="rotated-token"))
    sms_channel.refresh_from_db()
    assert sms_channel.credential("auth_token") == "rotated-token"


def test_channel_admin_validates_twilio_fields(client, manager, sms_channel):
    client.force_login(manager)
    url = reverse("admin:inboxes_channel_change", args=[sms_channel.pk])
    response = client.post(url, _form(sms_channel, twilio_account_sid="bad", twilio_sender=""))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "twilio_account_sid" in errors and "twilio_sender" in errors


def test_channel_admin_other_kind_panel_tolerates_missing_setup_module(client, manager, db):
    channel = factories.ChannelFactory(kind="email", name="Mail", credentials={"password": "pw1"})
    client.force_login(manager)
    response = client.get(reverse("admin:inboxes_channel_change", args=[channel.pk]))
    assert response.status_code == 200
    assert "pw1" not in response.content.decode()


def test_whatsapp_template_admin_add(client, manager, wa_channel):
    client.force_login(manager)
    response = client.post(
        reverse("admin:channels_app_whatsapptemplate_add"),
        {
            "channel": wa_channel.pk,
            "name": "order_update",
            "content_sid": "HX" + "b" * 32,
            "language": "en",
            "body": "Hi {{1}}, order {{2}} shipped.",
            "variables": '["1", "2"]',
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    template = WhatsAppTemplate.objects.get()
    assert template.render_preview({"1": "Kari", "2": "#1042"}) == "Hi Kari, order #1042 shipped."


def test_whatsapp_template_admin_refuses_bad_sid_and_variables(client, manager, wa_channel):
    client.force_login(manager)
    response = client.post(
        reverse("admin:channels_app_whatsapptemplate_add"),
        {
            "channel": wa_channel.pk,
            "name": "x",
            "content_sid": "nope",
            "variables": '["a b"]',
        },
    )
    errors = response.context["adminform"].form.errors
    assert "content_sid" in errors and "variables" in errors
