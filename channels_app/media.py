"""Fetching provider media for inbound attachments (a job: `channels_app.tasks.fetch_attachment`).

Twilio media URLs need the channel's basic auth and redirect to storage; right after the
webhook they can briefly answer 404, so a short 404 is retried a few times. The result is
always visible: stored, refused (size/type) or failed with a reason — never a lost message.
Credentials are only sent to Twilio's API host; `requests` drops them on cross-host redirects.
"""

from __future__ import annotations

import logging
import time
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.translation import gettext as _

from channels_app.twilio import config
from channels_app.twilio.client import rebase_url
from helpdesk.conversations.events import broadcast_message
from helpdesk.conversations.models import Attachment, AttachmentStatus
from helpdesk.conversations.services.attachments import check_attachment

logger = logging.getLogger(__name__)

CHUNK = 64 * 1024
EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "audio/ogg": "ogg",
    "audio/mpeg": "mp3",
    "audio/amr": "amr",
    "video/mp4": "mp4",
    "text/plain": "txt",
    "text/vcard": "vcf",
}


class _Refused(Exception):
    pass


def _auth_for(attachment: Attachment, url: str) -> tuple[str, str] | None:
    channel = attachment.message.channel
    if channel.kind not in config.TWILIO_KINDS:
        return None
    api_host = urlsplit(settings.TWILIO_API_BASE_URL).netloc
    host = urlsplit(url).netloc
    if host != api_host and not host.endswith(".twilio.com") and host != "api.twilio.com":
        return None
    return (config.account_sid(channel), config.auth_token(channel))


def _download(url: str, auth: tuple[str, str] | None, fallback_type: str) -> tuple[bytes, str]:
    delays = config.tunables().media_retry_delays
    timeout = config.tunables().http_timeout
    for attempt in range(len(delays) + 1):
        with requests.get(
            url, auth=auth, timeout=timeout, stream=True, allow_redirects=True
        ) as response:
            if response.status_code == 404 and attempt < len(delays):
                time.sleep(delays[attempt])
                continue
            response.raise_for_status()
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
            content_type = content_type or fallback_type
            declared = response.headers.get("Content-Length")
            size = int(declared) if declared and declared.isdigit() else None
            problem = check_attachment(content_type=content_type, size=size)
            if problem:
                raise _Refused(problem)
            body = bytearray()
            for chunk in response.iter_content(CHUNK):
                body += chunk
                if len(body) > settings.ATTACHMENT_MAX_BYTES:
                    raise _Refused(check_attachment(content_type=content_type, size=len(body)))
            return bytes(body), content_type
    raise AssertionError("unreachable")


def fetch_attachment(attachment_id: int) -> None:
    """Fetch one pending attachment. Idempotent: anything not `pending` is left alone."""
    attachment = (
        Attachment.objects.select_related("message__channel", "message__conversation")
        .filter(pk=attachment_id, status=AttachmentStatus.PENDING)
        .first()
    )
    if attachment is None or not attachment.source_url:
        return
    url = rebase_url(attachment.source_url)
    try:
        content, content_type = _download(url, _auth_for(attachment, url), attachment.content_type)
    except _Refused as exc:
        _finish(attachment_id, status=AttachmentStatus.REFUSED, error=str(exc))
    except requests.RequestException as exc:
        status = getattr(getattr(exc, "response", None), "status_code", None)
        logger.warning("media fetch failed for attachment %s (%s)", attachment_id, status)
        reason = (
            _("The provider answered %(status)s.") % {"status": status}
            if status
            else _("The provider could not be reached.")
        )
        _finish(attachment_id, status=AttachmentStatus.FAILED, error=reason)
    else:
        _finish(
            attachment_id,
            status=AttachmentStatus.STORED,
            content=content,
            content_type=content_type,
        )


@transaction.atomic
def _finish(
    attachment_id: int,
    *,
    status: str,
    error: str = "",
    content: bytes | None = None,
    content_type: str = "",
) -> None:
    attachment = (
        Attachment.objects.select_for_update()
        .select_related("message__conversation")
        .filter(pk=attachment_id, status=AttachmentStatus.PENDING)
        .first()
    )
    if attachment is None:
        return  # a concurrent run finished it
    attachment.status = status
    attachment.error = error[:300]
    if content is not None:
        attachment.content_type = content_type or attachment.content_type
        attachment.size = len(content)
        name = attachment.filename or f"attachment-{attachment.pk}"
        if "." not in name and attachment.content_type in EXTENSIONS:
            name = f"{name}.{EXTENSIONS[attachment.content_type]}"
        attachment.filename = name[:255]
        attachment.file.save(name, ContentFile(content), save=False)
    attachment.save()
    broadcast_message(attachment.message, "message.updated")
