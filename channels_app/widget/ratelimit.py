"""Abuse limits for the public widget API: per visitor and per IP address, fixed windows
counted in the shared cache (Redis in production, so every web process sees the same counts).

Limits per action may be tuned per channel: `Channel.settings["rate_limits"]`, e.g.
`{"message_per_visitor": 20}`; windows are one minute.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from django.core.cache import cache
from django.utils.translation import gettext as _

from helpdesk.core.errors import DomainError
from helpdesk.inboxes.models import Channel

WINDOW_SECONDS = 60
KEY_PREFIX = "widget-rate"

# Generous for people, tight for scripts.
DEFAULT_LIMITS: dict[str, int] = {
    "session_per_ip": 60,
    "message_per_visitor": 20,
    "message_per_ip": 60,
    "upload_per_visitor": 10,
    "upload_per_ip": 30,
    "read_per_visitor": 120,
    "email_per_visitor": 5,
}


class RateLimited(DomainError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            _("You are sending too fast. Please wait %(s)s seconds and try again.")
            % {"s": retry_after}
        )
        self.retry_after = retry_after


@dataclass(frozen=True)
class Hit:
    allowed: bool
    retry_after: int


def hit(key: str, *, limit: int, window: int = WINDOW_SECONDS, now: float | None = None) -> Hit:
    """Count one request against `key`; allowed while the window's count stays within `limit`.
    `cache.incr` is atomic on Redis and on the local-memory cache."""
    now = time.time() if now is None else now
    slot = math.floor(now / window)
    cache_key = f"{KEY_PREFIX}:{key}:{slot}"
    cache.add(cache_key, 0, timeout=window * 2)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=window * 2)
        count = 1
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
    *, channel: Channel, action: str, ip: str, visitor: str | None = None
) -> None:
    """Raise RateLimited (429) when this visitor or this IP went over `action`'s limits."""
    checks = [(f"{action}_per_ip", f"ip:{ip}")]
    if visitor:
        checks.insert(0, (f"{action}_per_visitor", f"v:{visitor}"))
    for name, who in checks:
        if name not in DEFAULT_LIMITS:
            continue
        result = hit(f"{channel.pk}:{action}:{who}", limit=limit_for(channel, name))
        if not result.allowed:
            raise RateLimited(result.retry_after)
