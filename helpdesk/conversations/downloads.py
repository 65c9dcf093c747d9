"""Serving stored attachments safely.

Files are never served from a public media URL. Agents download through the console (their
session and the conversation's visibility are checked); customers get signed, expiring links
(the widget has no cookie). Every answer names a safe content type, inlines only types a
browser cannot run as a page, and forbids scripts, so an uploaded file can never act as a page
of ours. The name offered for saving ends in the served type's extension, never the sender's,
so a saved file opens as what it was served as.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core import signing
from django.http import FileResponse, Http404
from django.urls import reverse

from helpdesk.conversations.models import Attachment, AttachmentStatus
from helpdesk.conversations.services.attachments import (
    STORAGE_EXTENSIONS,
    attachment_display_name,
)

SIGNED_SALT = "relay.attachment"
SIGNED_MAX_AGE = 24 * 60 * 60  # links are re-issued with every message list
INLINE_PREFIXES = ("image/", "audio/", "video/")
INLINE_TYPES = frozenset({"text/plain"})  # PDFs download: a sandboxed page can't show them
NEVER_INLINE = frozenset({"image/svg+xml"})  # SVG can carry script
OPAQUE_EXTENSION = ".bin"
# Other spellings a sender's name may already use for a served type; kept as they are.
EXTENSION_ALIASES: dict[str, frozenset[str]] = {
    "image/jpeg": frozenset({".jpeg", ".jpe"}),
    "text/vcard": frozenset({".vcard"}),
}
# Reserved in file names on some systems; Windows also drops trailing dots and spaces.
_UNSAFE_IN_NAME = re.compile(r'[<>:"/\\|?*]')
_LOOKS_LIKE_EXTENSION = re.compile(r"^\.(?=[0-9]*[A-Za-z])[A-Za-z0-9]{1,10}$")


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
        filename=download_filename(attachment, content_type),
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"  # the widget shows images
    return response


def download_filename(attachment: Attachment, content_type: str) -> str:
    """The name a download is offered under: the sender's base name, sanitised, ending in the
    extension of `content_type` (the type it is served as). A matching extension is kept; one
    that does not match is replaced (`x.html` served as image/gif is `x.gif`), and a name
    without one gets it appended."""
    wanted = STORAGE_EXTENSIONS.get(content_type, OPAQUE_EXTENSION)
    fitting = {wanted} | EXTENSION_ALIASES.get(content_type, frozenset())
    name = _UNSAFE_IN_NAME.sub("_", attachment_display_name(attachment.filename or ""))
    name = name.strip(" .")
    stem, dot, suffix = name.rpartition(".")
    stem = stem.rstrip(" .")
    if dot and stem:
        if f".{suffix}".lower() in fitting:
            return name
        if _LOOKS_LIKE_EXTENSION.match(f".{suffix}"):
            name = stem
    return f"{name or 'attachment'}{wanted}"  # the display name's fallback too
