"""Attachment limits, shared by every channel and upload path."""

from __future__ import annotations

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _


def check_attachment(*, content_type: str, size: int | None) -> str:
    """Return '' when the attachment is acceptable, else a reason a person can read."""
    base_type = (content_type or "").split(";")[0].strip().lower()
    if base_type and base_type not in settings.ATTACHMENT_ALLOWED_TYPES:
        return _("Files of type %(type)s are not accepted.") % {"type": base_type}
    if size is not None and size > settings.ATTACHMENT_MAX_BYTES:
        return _("The file is %(size)s; the limit is %(limit)s.") % {
            "size": filesizeformat(size),
            "limit": filesizeformat(settings.ATTACHMENT_MAX_BYTES),
        }
    return ""
