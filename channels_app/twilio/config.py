"""Per-channel Twilio configuration and the public URLs Twilio calls.

Credentials live in `Channel.credentials`: `account_sid`, `auth_token`, and the sender, either
`sender` (an E.164 number) or `messaging_service_sid`. Tunables come from settings with
defaults here, so tests can shorten timeouts and backoffs.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse

from helpdesk.inboxes.models import Channel, ChannelKind

TWILIO_KINDS = (ChannelKind.SMS, ChannelKind.WHATSAPP)
WHATSAPP_PREFIX = "whatsapp:"


@dataclass(frozen=True)
class Tunables:
    http_timeout: float  # seconds for one REST call
    retry_delays: tuple[float, ...]  # backoff before retry n (429 / connection refused)
    media_retry_delays: tuple[float, ...]  # short waits when provider media is not there yet
    send_rate_per_second: float  # default per-sender rate, a channel setting overrides it
    # when a claim's job is certainly dead (past the job timeout) and a pending message lost;
    # settings derive it from Q_TIMEOUT
    stale_after_seconds: float
    rate_wait_inline_seconds: float  # a rate-limit wait up to this is slept in the worker
    media_deadline_seconds: float  # one media fetch gives up after this (below the job timeout)
    media_stale_seconds: float  # when the sweeper fails an attachment still "fetching"


def tunables() -> Tunables:
    return Tunables(
        http_timeout=float(getattr(settings, "TWILIO_HTTP_TIMEOUT", 10.0)),
        retry_delays=tuple(getattr(settings, "TWILIO_RETRY_DELAYS", (5, 30, 120, 600))),
        media_retry_delays=tuple(getattr(settings, "TWILIO_MEDIA_RETRY_DELAYS", (1, 2, 4))),
        send_rate_per_second=float(getattr(settings, "TWILIO_SEND_RATE_PER_SECOND", 10)),
        stale_after_seconds=float(settings.TWILIO_STALE_AFTER_SECONDS),
        rate_wait_inline_seconds=float(getattr(settings, "TWILIO_RATE_WAIT_INLINE_SECONDS", 2)),
        media_deadline_seconds=float(getattr(settings, "TWILIO_MEDIA_DEADLINE_SECONDS", 45)),
        media_stale_seconds=float(getattr(settings, "TWILIO_MEDIA_STALE_SECONDS", 600)),
    )


def is_whatsapp(channel: Channel) -> bool:
    return channel.kind == ChannelKind.WHATSAPP


def account_sid(channel: Channel) -> str:
    return channel.credential("account_sid")


def auth_token(channel: Channel) -> str:
    return channel.credential("auth_token")


def sender(channel: Channel) -> str:
    return channel.credential("sender")


def messaging_service_sid(channel: Channel) -> str:
    return channel.credential("messaging_service_sid")


def sender_key(channel: Channel) -> str:
    """What the per-sender rate limit counts against."""
    return messaging_service_sid(channel) or sender(channel) or f"channel-{channel.pk}"


def send_rate(channel: Channel) -> float:
    value = channel.setting("send_rate_per_second")
    try:
        return float(value) if value else tunables().send_rate_per_second
    except (TypeError, ValueError):
        return tunables().send_rate_per_second


def connection_overrides() -> str:
    """Twilio's connection overrides, as a URL fragment on the webhook URLs we hand out
    (`TWILIO_WEBHOOK_OVERRIDES`): by default Twilio retries a webhook only when it cannot
    connect; these ask it to retry on a read timeout and on a 5xx (our 503 when overloaded)
    too, up to 3 times within its 15 s. The fragment is never sent to us; signatures are
    checked with and without it."""
    return getattr(settings, "TWILIO_WEBHOOK_OVERRIDES", "")


def inbound_url(channel: Channel) -> str:
    path = reverse("twilio:inbound", kwargs={"public_id": channel.public_id})
    return f"{settings.PUBLIC_BASE_URL}{path}{connection_overrides()}"


def status_url(channel: Channel, *, message_id: int | None = None) -> str:
    """The status callback URL; per message it names our message (`?m=<pk>`), so a callback
    for a SID we never stored (a killed worker, a timeout) still finds its message. Twilio
    calls the URL as given and signs it with its query, so `m` cannot be forged."""
    path = reverse("twilio:status", kwargs={"public_id": channel.public_id})
    query = f"?m={message_id}" if message_id is not None else ""
    return f"{settings.PUBLIC_BASE_URL}{path}{query}{connection_overrides()}"


def with_prefix(channel: Channel, number: str) -> str:
    """`whatsapp:+47…` on WhatsApp channels, the bare number on SMS."""
    if is_whatsapp(channel) and not number.startswith(WHATSAPP_PREFIX):
        return WHATSAPP_PREFIX + number
    return number
