"""Shopper uploads: images and PDF only, within the shared attachment limits.

The type is taken from the file's first bytes, not from what the browser claims, so a renamed
executable is refused however it is labelled. The file is stored under a server-chosen name
with the detected type's extension; the shopper's name is display text only.
"""

from __future__ import annotations

from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from helpdesk.conversations.services import InboundAttachment
from helpdesk.conversations.services.attachments import (
    attachment_display_name,
    check_attachment,
    sniff_content_type,
)
from helpdesk.core.errors import DomainError, PayloadTooLarge

WIDGET_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "application/pdf")


class UnsupportedType(DomainError):
    code = "unsupported_type"
    http_status = 415


def sniff_type(head: bytes) -> str:
    """The content type the first bytes prove, or '' (shared with agents' uploads)."""
    return sniff_content_type(head)


def widget_upload_read(upload: UploadedFile) -> InboundAttachment:
    """Check an uploaded file and read it. Raises PayloadTooLarge (413), UnsupportedType (415)
    or DomainError (400) with a reason a shopper can read."""
    size = upload.size or 0
    if size == 0:
        raise DomainError(_("The file is empty."), code="empty_file")
    problem = check_attachment(content_type="", size=size)
    if problem:
        raise PayloadTooLarge(problem)
    head = upload.read(16)
    upload.seek(0)
    content_type = sniff_type(head)
    if content_type not in WIDGET_TYPES:
        claimed = (upload.content_type or "").split(";")[0].strip() or _("unknown")
        raise UnsupportedType(
            _("Only images (JPEG, PNG, GIF, WebP) and PDF files can be sent, not %(type)s.")
            % {"type": claimed}
        )
    problem = check_attachment(content_type=content_type, size=size)
    if problem:
        raise UnsupportedType(problem)
    # The content type is the sniffed one: storage derives the file's extension from it.
    return InboundAttachment(
        content_type=content_type,
        filename=display_name(upload.name or ""),
        content=upload.read(),
        size=size,
    )


def display_name(raw: str) -> str:
    """The shopper's file name, kept only as text to show (escaped), never as a storage path."""
    return attachment_display_name(raw)
