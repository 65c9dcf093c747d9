"""Agents attach images and PDF documents to replies and notes; they reach Twilio as signed
media links and the console as checked downloads."""

from __future__ import annotations

from typing import Any

import pytest
from django.urls import reverse

from helpdesk.conversations.models import Attachment, Message
from helpdesk.conversations.services import ReplyFile, message_send_reply, note_create
from helpdesk.core.errors import DomainError
from tests.support import factories

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
PDF = b"%PDF-1.4 return label"


@pytest.fixture(autouse=True)
def media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def test_reply_with_files_stores_them_under_server_names(agent):
    conversation = factories.ConversationFactory()
    message = message_send_reply(
        conversation=conversation,
        author=agent,
        text="",
        files=[ReplyFile("label.pdf", PDF), ReplyFile("../../etc/x\r\n.png", PNG)],
    )
    stored = list(message.attachments.order_by("pk"))
    assert [(a.content_type, a.status) for a in stored] == [
        ("application/pdf", "stored"),
        ("image/png", "stored"),
    ]
    assert stored[1].filename == "x.png"  # display text only: no folders, no line breaks
    assert stored[0].file.name.endswith(".pdf") and "label" not in stored[0].file.name


def test_reply_files_are_checked_before_anything_is_stored(agent, settings):
    conversation = factories.ConversationFactory()
    with pytest.raises(DomainError) as wrong:
        message_send_reply(
            conversation=conversation,
            author=agent,
            text="see attached",
            files=[ReplyFile("run.exe", b"MZ\x90\x00")],
        )
    assert wrong.value.code == "unsupported_type"
    settings.ATTACHMENT_MAX_BYTES = 10
    with pytest.raises(DomainError) as big:
        message_send_reply(
            conversation=conversation, author=agent, text="", files=[ReplyFile("a.png", PNG)]
        )
    assert big.value.http_status == 413
    assert not Message.objects.filter(direction="outbound").exists()
    assert not Attachment.objects.exists()


def test_note_may_carry_a_file_without_text(agent):
    note = note_create(
        conversation=factories.ConversationFactory(),
        author=agent,
        text="",
        files=[ReplyFile("receipt.png", PNG)],
    )
    assert note.kind == "note" and note.attachments.get().content_type == "image/png"


def test_console_reply_uploads_files(client, agent):
    from django.core.files.uploadedfile import SimpleUploadedFile

    conversation = factories.ConversationFactory()
    factories.MessageFactory(conversation=conversation)
    client.force_login(agent)
    response = client.post(
        reverse("console:reply", args=[conversation.pk]),
        {
            "text": "Here is your return label.",
            "mode": "reply",
            "client_id": "c-files",
            "files": [SimpleUploadedFile("label.pdf", PDF, content_type="application/pdf")],
        },
        HTTP_X_RELAY_FETCH="1",
    )
    assert response.json()["ok"], response.json()
    attachment = Attachment.objects.get()
    thread = client.get(reverse("console:conversation", args=[conversation.pk])).content.decode()
    assert reverse("console:attachment", args=[attachment.pk]) in thread
    refused = client.post(
        reverse("console:reply", args=[conversation.pk]),
        {"text": "x", "files": [SimpleUploadedFile("a.html", b"<script>", "text/html")]},
        HTTP_X_RELAY_FETCH="1",
    )
    assert refused.status_code == 400 and "not an image or a PDF" in refused.json()["error"]
