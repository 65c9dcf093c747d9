"""Abuse limits for the public widget API: per visitor and per IP address, fixed windows
counted in the shared cache (Redis in production, so every web process sees the same counts;
while it is unreachable, each process counts for itself: helpdesk.core.counters).

Limits per action may be tuned per channel: `Channel.settings["rate_limits"]`, e.g.
`{"message_per_visitor": 20}`; windows are one minute.

Reads and websocket connections are limited too, but far above what a person needs: a window
takes a whole burst (a laptop lid opens, every open tab of the shop reconnects its socket and
catches up at once), and a refused client is told when to come back (Retry-After, or the
websocket's close reason), so nobody is locked out for more than the rest of a minute.
"""

from __future__ import annotations

import ipaddress
import math
import time
from dataclasses import dataclass

from django.utils.translation import gettext as _

from helpdesk.core.counters import counter_increment
from helpdesk.core.errors import DomainError
from helpdesk.inboxes.models import Channel

WINDOW_SECONDS = 60
KEY_PREFIX = "widget-rate"

# Generous for people, tight for scripts. Per IP allows for many shoppers behind one address
# (offices, mobile carriers' NAT); per visitor covers every tab of one browser.
DEFAULT_LIMITS: dict[str, int] = {
    "session_per_visitor": 30,
    "session_per_ip": 60,
    "conversations_per_visitor": 60,
    "conversations_per_ip": 300,
    "history_per_visitor": 120,
    "history_per_ip": 600,
    "socket_per_visitor": 60,
    "socket_per_ip": 240,
    "message_per_visitor": 20,
    "message_per_ip": 60,
    "upload_per_visitor": 10,
    "upload_per_ip": 30,
    "read_per_visitor": 120,
    "email_per_visitor": 5,
}


# Actions where the shopper sends something; the others load or connect.
SENDING_ACTIONS = frozenset({"message", "upload", "email"})


class RateLimited(DomainError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, retry_after: int, *, sending: bool = True) -> None:
        if sending:
            message = _("You are sending too fast. Please wait %(s)s seconds and try again.")
        else:
            message = _("Too many requests right now. Please wait %(s)s seconds and try again.")
        super().__init__(message % {"s": retry_after})
        self.retry_after = retry_after


@dataclass(frozen=True)
class Hit:
    allowed: bool
    retry_after: int


def hit(key: str, *, limit: int, window: int = WINDOW_SECONDS, now: float | None = None) -> Hit:
    """Count one request against `key`; allowed while the window's count stays within
    `limit`."""
    now = time.time() if now is None else now
    slot = math.floor(now / window)
    count = counter_increment(f"{KEY_PREFIX}:{key}:{slot}", timeout=window * 2)
    retry_after = max(1, math.ceil((slot + 1) * window - now))
    return Hit(allowed=count <= limit, retry_after=retry_after)


def limit_for(channel: Channel, name: str) -> int:
    custom = channel.settings.get("rate_limits") or {}
    value = custom.get(name, DEFAULT_LIMITS[name]) if isinstance(custom, dict) else None
    try:
        return int(value if value is not None else DEFAULT_LIMITS[name])
    except (TypeError, ValueError):
        return DEFAULT_LIMITS[name]


def check_rate(
    *, channel: Channel, action: str, ip: str | None, visitor: str | None = None
) -> None:
    """Raise RateLimited (429) when this visitor or this IP went over `action`'s limits.
    `ip=None` counts the visitor only (its IP was counted earlier in the same request)."""
    checks = [(f"{action}_per_ip", f"ip:{ip}")] if ip is not None else []
    if visitor:
        checks.insert(0, (f"{action}_per_visitor", f"v:{visitor}"))
    for name, who in checks:
        if name not in DEFAULT_LIMITS:
            continue
        result = hit(f"{channel.pk}:{action}:{who}", limit=limit_for(channel, name))
        if not result.allowed:
            raise RateLimited(result.retry_after, sending=action in SENDING_ACTIONS)


def ip_bucket(address: str) -> str:
    """The rate-limit key for a client address: IPv4 as is, IPv6 by /64 (one subscriber's
    whole network: otherwise every address in it would be a fresh bucket)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
