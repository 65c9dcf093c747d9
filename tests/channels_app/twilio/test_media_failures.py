"""Inbound media never stays "fetching": crashes, slow fetches, killed jobs, unknown types."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.models import Schedule

from channels_app import tasks as channel_tasks
from helpdesk.conversations.models import Attachment
from tests.channels_app.twilio.support import inbound_url, payload, post_webhook

pytestmark = pytest.mark.django_db


def media_inbound(client, channel, url, n=1, content_type="image/jpeg") -> Attachment:
    sid = f"MM{n:032d}"
    params = payload(
        "whatsapp_media",
        MediaUrl0=url,
        MediaContentType0=content_type,
        MessageSid=sid,
        SmsMessageSid=sid,
        SmsSid=sid,
    )
    assert post_webhook(client, inbound_url(channel), params).status_code == 200
    return Attachment.objects.get(message__external_id=sid)


def test_media_storage_error_fails_the_attachment_with_a_reason(
    client, fake_twilio, wa_channel, settings, tmp_path
):
    blocker = tmp_path / "not-a-folder"
    blocker.write_bytes(b"")
    settings.MEDIA_ROOT = blocker  # saving the file raises an OSError
    url = fake_twilio.add_media("/cat.jpg", b"\xff\xd8jpeg", "image/jpeg")
    attachment = media_inbound(client, wa_channel, url)
    channel_tasks.fetch_attachment(attachment.pk)
    attachment.refresh_from_db()
    assert attachment.status == "failed"
    assert "could not be fetched or stored" in attachment.error


def test_media_fetch_gives_up_before_the_job_timeout(client, fake_twilio, wa_channel, settings):
    settings.TWILIO_MEDIA_DEADLINE_SECONDS = 0.001
    url = fake_twilio.add_media("/late.jpg", b"jpeg", "image/jpeg", not_found_first=1)
    attachment = media_inbound(client, wa_channel, url)
    channel_tasks.fetch_attachment(attachment.pk)
    attachment.refresh_from_db()
    assert attachment.status == "failed"
    assert "too long" in attachment.error


def test_media_without_content_type_is_refused(client, fake_twilio, wa_channel):
    url = fake_twilio.add_media("/blob", b"MZ\x90\x00", "")
    attachment = media_inbound(client, wa_channel, url, content_type="")
    channel_tasks.fetch_attachment(attachment.pk)
    attachment.refresh_from_db()
    assert attachment.status == "refused"
    assert "unknown type" in attachment.error
    assert not attachment.file


def test_media_sweeper_fails_attachments_stuck_fetching(client, fake_twilio, wa_channel, events):
    url = fake_twilio.add_media("/never.jpg", b"jpeg", "image/jpeg")
    stuck = media_inbound(client, wa_channel, url, n=1)  # its job was killed: never ran
    fresh = media_inbound(client, wa_channel, url, n=2)
    Attachment.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - timedelta(hours=1))
    assert channel_tasks.sweep_attachments() == 1
    stuck.refresh_from_db()
    fresh.refresh_from_db()
    assert (stuck.status, fresh.status) == ("failed", "pending")
    assert "too long" in stuck.error
    assert "message.updated" in events.types()
    assert channel_tasks.sweep_attachments() == 0
    assert Schedule.objects.filter(func="channels_app.tasks.sweep_attachments").exists()
