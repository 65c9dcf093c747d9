"""Fetching provider media for inbound attachments (a job: `channels_app.tasks.fetch_attachment`).

Twilio media URLs need the channel's basic auth and redirect to storage; right after the
webhook they can briefly answer 404, so a short 404 is retried a few times. The result is
always visible: stored, refused (size/type) or failed with a reason — never a lost message,
never a placeholder left "fetching": any error fails it, a fetch gives up before the job's
timeout, and `attachments_fail_stale` (scheduled) fails one whose job was killed.
Only Twilio's URLs are fetched; redirects are followed by hand, each hop must be a public
host (never our own network), and credentials go only to the host they belong to.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from channels_app.twilio import config
from channels_app.twilio.client import rebase_url
from helpdesk.conversations.events import broadcast_message
from helpdesk.conversations.models import Attachment, AttachmentStatus
from helpdesk.conversations.services.attachments import (
    attachment_storage_name,
    check_attachment,
)

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


class _TooSlow(Exception):
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


MAX_REDIRECTS = 5
REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})


def _is_public_host(host: str) -> bool:
    """Every address the name resolves to is a public one (no loopback, private, link-local
    or reserved ranges): a redirect must not point the worker at our own network."""
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(info[4][0]).is_global for info in infos)


def check_media_url(url: str, *, first: bool) -> None:
    """Raise _Refused unless `url` may be fetched: the first URL must be Twilio's (or the
    configured API base), later redirect hops any public host; http(s) only."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host:
        raise _Refused(_("The media address is not a web address."))
    if host == urlsplit(settings.TWILIO_API_BASE_URL).hostname:
        return  # the API we talk to anyway (a local fake under tests)
    if first and not (host == "twilio.com" or host.endswith(".twilio.com")):
        raise _Refused(_("Media is only fetched from Twilio."))
    if not _is_public_host(host):
        raise _Refused(_("The media address points at a private network."))


@contextmanager
def _get_following_redirects(
    url: str, auth: tuple[str, str] | None, timeout: float
) -> Iterator[requests.Response]:
    """GET with redirects followed by hand, each hop checked; credentials only to the host
    they belong to."""
    origin = urlsplit(url).netloc
    check_media_url(url, first=True)
    for _hop in range(MAX_REDIRECTS + 1):
        hop_auth = auth if urlsplit(url).netloc == origin else None
        response = requests.get(
            url, auth=hop_auth, timeout=timeout, stream=True, allow_redirects=False
        )
        if response.status_code not in REDIRECT_CODES:
            try:
                yield response
            finally:
                response.close()
            return
        location = response.headers.get("Location", "")
        response.close()
        url = urljoin(url, location)
        check_media_url(url, first=False)
    raise _Refused(_("The media address redirects too often."))


def _download(url: str, auth: tuple[str, str] | None, fallback_type: str) -> tuple[bytes, str]:
    delays = config.tunables().media_retry_delays
    timeout = config.tunables().http_timeout
    deadline = time.monotonic() + config.tunables().media_deadline_seconds
    for attempt in range(len(delays) + 1):
        with _get_following_redirects(url, auth, timeout) as response:
            if response.status_code == 404 and attempt < len(delays):
                if time.monotonic() + delays[attempt] > deadline:
                    raise _TooSlow
                time.sleep(delays[attempt])
                continue
            response.raise_for_status()
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
            content_type = content_type or fallback_type
            declared = response.headers.get("Content-Length")
            size = int(declared) if declared and declared.isdigit() else None
            problem = check_attachment(content_type=content_type, size=size, type_known=True)
            if problem:
                raise _Refused(problem)
            body = bytearray()
            for chunk in response.iter_content(CHUNK):
                body += chunk
                if len(body) > settings.ATTACHMENT_MAX_BYTES:
                    raise _Refused(
                        check_attachment(content_type=content_type, size=len(body), type_known=True)
                    )
                if time.monotonic() > deadline:
                    raise _TooSlow
            return bytes(body), content_type
    raise AssertionError("unreachable")


def fetch_attachment(attachment_id: int) -> None:
    """Fetch one pending attachment. Idempotent: anything not `pending` is left alone. Always
    ends the placeholder: stored, refused or failed with a reason, whatever goes wrong."""
    attachment = (
        Attachment.objects.select_related("message__channel", "message__conversation")
        .filter(pk=attachment_id, status=AttachmentStatus.PENDING)
        .first()
    )
    if attachment is None or not attachment.source_url:
        return
    try:
        _fetch(attachment)
    except Exception as exc:  # storage, database, anything: never leave it "fetching"
        # The class only: messages and tracebacks can carry file names or customer data.
        logger.error("media fetch failed for attachment %s (%s)", attachment_id, type(exc).__name__)
        _finish(
            attachment_id,
            status=AttachmentStatus.FAILED,
            error=_("The file could not be fetched or stored."),
        )


def _fetch(attachment: Attachment) -> None:
    attachment_id = attachment.pk
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
    except _TooSlow:
        logger.warning("media fetch for attachment %s took too long", attachment_id)
        _finish(attachment_id, status=AttachmentStatus.FAILED, error=_too_slow())
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
) -> bool:
    attachment = (
        Attachment.objects.select_for_update()
        .select_related("message__conversation")
        .filter(pk=attachment_id, status=AttachmentStatus.PENDING)
        .first()
    )
    if attachment is None:
        return False  # a concurrent run finished it
    attachment.status = status
    attachment.error = error[:300]
    if content is not None:
        attachment.content_type = content_type or attachment.content_type
        attachment.size = len(content)
        name = attachment.filename or f"attachment-{attachment.pk}"
        if "." not in name and attachment.content_type in EXTENSIONS:
            name = f"{name}.{EXTENSIONS[attachment.content_type]}"
        attachment.filename = name[:255]  # display text only
        stored_as = attachment_storage_name(attachment.content_type)
        attachment.file.save(stored_as, ContentFile(content), save=False)
    attachment.save()
    broadcast_message(attachment.message, "message.updated")
    return True


def _too_slow() -> str:
    return _("Fetching the file took too long and was stopped.")


def attachments_fail_stale() -> int:
    """Fail attachments still "fetching" after `media_stale_seconds` (their job was killed,
    e.g. by the worker timeout, or lost). Returns how many; each is broadcast."""
    cutoff = timezone.now() - timedelta(seconds=config.tunables().media_stale_seconds)
    stale = list(
        Attachment.objects.filter(status=AttachmentStatus.PENDING, created_at__lt=cutoff)
        .order_by("pk")
        .values_list("pk", flat=True)[:200]
    )
    failed = sum(
        _finish(attachment_id, status=AttachmentStatus.FAILED, error=_too_slow())
        for attachment_id in stale
    )
    if failed:
        logger.warning("media sweep: %s attachments stuck fetching were failed", failed)
    return failed
