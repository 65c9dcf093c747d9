"""Per-sender sending rate, shared by every worker through the cache (Redis in production).

A fixed-window counter: at most `rate * window` sends per window per sender. `cache.incr` is
atomic on Redis and on the local-memory cache, so two workers never both take the last slot.
A refused send is rescheduled for the next window instead of sleeping in the worker.
"""

from __future__ import annotations

import math
import time

from django.core.cache import cache

KEY_PREFIX = "twilio-rate"


def _window(rate: float) -> tuple[float, int]:
    window = 1.0 if rate >= 1 else 1.0 / rate
    return window, max(1, math.floor(rate * window))


def acquire(sender: str, *, rate: float, now: float | None = None) -> float:
    """Take one send slot for `sender`. Returns 0 when granted, else seconds to wait."""
    if rate <= 0:
        return 0.0
    now = time.time() if now is None else now
    window, limit = _window(rate)
    slot = math.floor(now / window)
    key = f"{KEY_PREFIX}:{sender}:{slot}"
    cache.add(key, 0, timeout=math.ceil(window * 2) + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr: this is the first send of a new slot
        cache.add(key, 1, timeout=math.ceil(window * 2) + 1)
        count = 1
    if count <= limit:
        return 0.0
    return max(0.01, (slot + 1) * window - now)
