from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse

from helpdesk.conversations import downloads
from helpdesk.conversations.models import Attachment
from tests.support import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def stored(*, name: str, content_type: str, body: bytes, channel: Any = None) -> Attachment:
    message = factories.MessageFactory(
        **({"conversation__channel": channel} if channel is not None else {})
    )
    attachment = Attachment(message=message, filename=name, content_type=content_type, size=5)
    attachment.file.save("f.bin", ContentFile(body), save=True)
    return attachment


def test_attachment_download_serves_images_inline_and_inert(client, agent):
    attachment = stored(name="photo.png", content_type="image/png", body=b"\x89PNG....")
    client.force_login(agent)
    response = client.get(reverse("console:attachment", args=[attachment.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("inline")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == b"\x89PNG...."


def test_attachment_download_never_serves_a_page(client, agent):
    attachment = stored(name="x.html", content_type="text/html", body=b"<script>alert(1)</script>")
    client.force_login(agent)
    response = client.get(reverse("console:attachment", args=[attachment.pk]))
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")


def test_attachment_download_names_the_file_after_the_served_type(client, agent):
    # A GIF/HTML polyglot sent as "x.html" is served as image/gif: saved, it must not be x.html.
    polyglot = b"GIF89a<script>alert(1)</script>"
    attachment = stored(name="x.html", content_type="image/gif", body=polyglot)
    client.force_login(agent)
    response = client.get(reverse("console:attachment", args=[attachment.pk]))
    assert response["Content-Type"] == "image/gif"
    assert response["Content-Disposition"] == 'inline; filename="x.gif"'


def test_attachment_download_of_a_refused_type_is_named_as_opaque_bytes(client, agent):
    attachment = stored(name="x.html", content_type="text/html", body=b"<script>1</script>")
    client.force_login(agent)
    response = client.get(reverse("console:attachment", args=[attachment.pk]))
    assert response["Content-Disposition"] == 'attachment; filename="x.bin"'


def test_attachment_signed_link_names_the_file_after_the_served_type(client):
    attachment = stored(name="invoice.html", content_type="application/pdf", body=b"%PDF-1.4")
    response = client.get(downloads.attachment_signed_path(attachment))
    assert response["Content-Disposition"] == 'attachment; filename="invoice.pdf"'


def test_attachment_download_refuses_invisible_conversations_and_anonymous(client, agent):
    hidden = factories.ChannelFactory(is_active=False)
    attachment = stored(name="a.png", content_type="image/png", body=b"x", channel=hidden)
    url = reverse("console:attachment", args=[attachment.pk])
    assert client.get(url).status_code == 302  # to sign-in
    client.force_login(agent)
    assert client.get(url).status_code == 404


def test_attachment_signed_link_works_and_refuses_forged_or_expired(client, monkeypatch):
    attachment = stored(name="receipt.pdf", content_type="application/pdf", body=b"%PDF-1.4")
    path = downloads.attachment_signed_path(attachment)
    response = client.get(path)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert client.get(path[:-3] + "xx/").status_code == 404
    monkeypatch.setattr(downloads, "SIGNED_MAX_AGE", -1)
    assert client.get(path).status_code == 404


def test_console_thread_links_attachments_through_the_console(client, agent):
    attachment = stored(name="photo.png", content_type="image/png", body=b"x")
    client.force_login(agent)
    conversation = attachment.message.conversation
    html = client.get(reverse("console:conversation", args=[conversation.pk])).content.decode()
    assert reverse("console:attachment", args=[attachment.pk]) in html
    assert "/media/" not in html
