"""Serving stored attachments safely.

Files are never served from a public media URL. Agents download through the console (their
session and the conversation's visibility are checked); customers get signed, expiring links
(the widget has no cookie). Every answer names a safe content type, inlines only types a
browser cannot run as a page, and forbids scripts, so an uploaded file can never act as a page
of ours.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.http import FileResponse, Http404
from django.urls import reverse

from helpdesk.conversations.models import Attachment, AttachmentStatus

SIGNED_SALT = "relay.attachment"
SIGNED_MAX_AGE = 24 * 60 * 60  # links are re-issued with every message list
INLINE_PREFIXES = ("image/", "audio/", "video/")
INLINE_TYPES = frozenset({"text/plain"})  # PDFs download: a sandboxed page can't show them
NEVER_INLINE = frozenset({"image/svg+xml"})  # SVG can carry script


def attachment_signed_path(attachment: Attachment) -> str:
    """A path that lets whoever holds it download this attachment for a day."""
    token = signing.dumps(attachment.pk, salt=SIGNED_SALT, compress=True)
    return reverse("attachment-signed", args=[token])


def attachment_from_token(token: str) -> Attachment:
    """The attachment a signed link names; Http404 when forged, expired or not stored."""
    try:
        pk = signing.loads(token, salt=SIGNED_SALT, max_age=SIGNED_MAX_AGE)
    except signing.BadSignature as exc:
        raise Http404 from exc
    return attachment_stored(pk)


def attachment_stored(pk: int, **filters: object) -> Attachment:
    attachment = (
        Attachment.objects.filter(pk=pk, status=AttachmentStatus.STORED, **filters)
        .exclude(file="")
        .first()
    )
    if attachment is None:
        raise Http404
    return attachment


def safe_content_type(attachment: Attachment) -> str:
    allowed = set(settings.ATTACHMENT_ALLOWED_TYPES) - NEVER_INLINE
    kind = (attachment.content_type or "").split(";")[0].strip().lower()
    return kind if kind in allowed else "application/octet-stream"


def attachment_response(attachment: Attachment) -> FileResponse:
    """The file with headers that keep it inert (sandboxed, no sniffing, private cache)."""
    content_type = safe_content_type(attachment)
    inline = content_type in INLINE_TYPES or content_type.startswith(INLINE_PREFIXES)
    try:
        handle = attachment.file.open("rb")
    except OSError as exc:  # the row says stored but the file is gone
        raise Http404 from exc
    response = FileResponse(
        handle,
        content_type=content_type,
        as_attachment=not inline,
        filename=attachment.filename or f"attachment-{attachment.pk}",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"  # the widget shows images
    return response
