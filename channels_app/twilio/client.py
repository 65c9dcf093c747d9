"""The real `twilio` library, pointed at `settings.TWILIO_API_BASE_URL`.

The library builds absolute URLs on `https://<product>.twilio.com`; the HTTP client below swaps
that origin for the configured one (a local fake server in tests, a proxy if ever needed), so
every request still goes through the library's own serialization and error handling.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from channels_app.twilio import config
from helpdesk.inboxes.models import Channel

TWILIO_ORIGIN = "https://api.twilio.com"

# The library logs every request line at INFO (query strings can carry phone numbers):
# keep it to warnings, customer data never goes to logs.
_http_logger = logging.getLogger("channels_app.twilio.http")
_http_logger.setLevel(logging.WARNING)


def rebase_url(url: str, base: str | None = None) -> str:
    """Replace a Twilio API origin with the configured base URL (unchanged for the default)."""
    base = (base or settings.TWILIO_API_BASE_URL).rstrip("/")
    if base == TWILIO_ORIGIN:
        return url
    parts = urlsplit(url)
    if not parts.netloc.endswith("twilio.com"):
        return url
    target = urlsplit(base)
    return urlunsplit(
        (target.scheme, target.netloc, target.path + parts.path, parts.query, parts.fragment)
    )


class RelayHttpClient(TwilioHttpClient):
    """TwilioHttpClient that talks to `TWILIO_API_BASE_URL` with a bounded timeout."""

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        return super().request(method, rebase_url(url), *args, **kwargs)


def client_for(channel: Channel) -> Client:
    """A REST client for one channel's account. The library itself never retries."""
    http_client = RelayHttpClient(timeout=config.tunables().http_timeout, logger=_http_logger)
    return Client(config.account_sid(channel), config.auth_token(channel), http_client=http_client)
