"""Files an agent attaches to a reply or a note: checked before anything is stored, so a
refused file is a clear error in the console, never a half-sent message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.core.files.base import ContentFile
from django.utils.translation import gettext as _

from helpdesk.conversations.models import Attachment, AttachmentStatus, Message
from helpdesk.conversations.services.attachments import (
    attachment_display_name,
    attachment_storage_name,
    check_attachment,
    sniff_content_type,
)
from helpdesk.core.errors import DomainError, PayloadTooLarge

MAX_FILES = 5


@dataclass(frozen=True)
class ReplyFile:
    filename: str
    content: bytes


def check_reply_files(files: Sequence[ReplyFile], *, channel_accepts_files: bool) -> list[str]:
    """The content type of each file (sniffed from its bytes), or a DomainError saying why
    one cannot be sent. Agents may attach images and PDF documents."""
    if files and not channel_accepts_files:
        raise DomainError(_("This channel cannot carry attachments."), code="no_attachments")
    if len(files) > MAX_FILES:
        raise DomainError(
            _("At most %(n)s files per message.") % {"n": MAX_FILES}, code="too_many_files"
        )
    types = []
    for item in files:
        kind = sniff_content_type(item.content[:16])
        if not kind:
            raise DomainError(
                _("%(name)s is not an image or a PDF document.") % {"name": item.filename},
                code="unsupported_type",
            )
        problem = check_attachment(content_type=kind, size=len(item.content), type_known=True)
        if problem:
            raise PayloadTooLarge(problem)
        types.append(kind)
    return types


def reply_files_store(*, message: Message, files: Sequence[ReplyFile], types: list[str]) -> None:
    """Store checked files on `message` under server-chosen names (the agent's file name is
    display text only)."""
    for item, kind in zip(files, types, strict=True):
        attachment = Attachment(
            message=message,
            filename=attachment_display_name(item.filename),
            content_type=kind,
            size=len(item.content),
            status=AttachmentStatus.STORED,
        )
        attachment.file.save(attachment_storage_name(kind), ContentFile(item.content), save=False)
        attachment.save()
