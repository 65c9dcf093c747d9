"""Attachment limits, shared by every channel and upload path."""

from __future__ import annotations

import os
import uuid

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _


def check_attachment(*, content_type: str, size: int | None, type_known: bool = False) -> str:
    """Return '' when the attachment is acceptable, else a reason a person can read.

    `type_known=True` once the content type is final (fetched media): no type is then refused.
    Without it an empty type checks the size only (a caller that has not sniffed the type yet).
    """
    base_type = (content_type or "").split(";")[0].strip().lower()
    if not base_type and type_known:
        return _("Files of unknown type are not accepted.")
    if base_type and base_type not in settings.ATTACHMENT_ALLOWED_TYPES:
        return _("Files of type %(type)s are not accepted.") % {"type": base_type}
    if size is not None and size > settings.ATTACHMENT_MAX_BYTES:
        return _("The file is %(size)s; the limit is %(limit)s.") % {
            "size": filesizeformat(size),
            "limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
        }
    return ""


# Extensions for the accepted types; anything else is stored as opaque bytes.
STORAGE_EXTENSIONS: dict[str, str] = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "audio/ogg": ".ogg",
    "audio/mpeg": ".mp3",
    "audio/amr": ".amr",
    "video/mp4": ".mp4",
    "text/plain": ".txt",
    "text/vcard": ".vcf",
}


def attachment_storage_name(content_type: str) -> str:
    """The name a file is stored under: random, with the extension of its checked content type.

    Never the sender's name: a file called `x.html` that starts with `GIF89a` is stored as
    `<random>.gif`. The sender's name is kept only as display text (`Attachment.filename`)."""
    base_type = (content_type or "").split(";")[0].strip().lower()
    return f"{uuid.uuid4().hex}{STORAGE_EXTENSIONS.get(base_type, '.bin')}"


def sniff_content_type(head: bytes) -> str:
    """The content type a file's first bytes prove (images, PDF), or ''. Browsers and
    senders may claim anything; storage and serving trust only this."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    return ""


def attachment_display_name(raw: str) -> str:
    """A sender's file name as text to show (escaped) and to offer on download: no folders,
    no control characters (a newline would break the download's header), never a path."""
    name = os.path.basename((raw or "").replace("\\", "/"))
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return name[:200] or "attachment"
