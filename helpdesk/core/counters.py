"""Expiring counters for rate limits and sign-in throttling. They live in the shared cache
(Redis in production, so every web process sees the same counts).

Redis is optional at run time: when the cache cannot be reached, counting goes on in this
process's memory, so limits still apply, per process (a client whose requests are spread over
N web processes may get up to N times a limit). The first failure is logged as a warning (then
at most once a minute), and the shared cache is tried again SHARED_RETRY_SECONDS later; in
between no request waits for it. Counts are not copied between the two stores, so across the
switch a count restarts from what that store holds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import RedisError

from helpdesk.core.outage_log import warn_outage

logger = logging.getLogger(__name__)

SHARED_RETRY_SECONDS = 5.0
SHARED_CACHE_ERRORS = (RedisError, OSError)

# Sized for an outage's worth of visitors and addresses; the oldest keys go first when full.
_process_store = LocMemCache(
    "relay-counters-fallback", {"OPTIONS": {"MAX_ENTRIES": 50_000, "CULL_FREQUENCY": 10}}
)
_shared_paused_until = 0.0

T = TypeVar("T")


def _counting(operation: Callable[[BaseCache], T]) -> T:
    global _shared_paused_until
    if time.monotonic() >= _shared_paused_until:
        try:
            return operation(cache)
        except SHARED_CACHE_ERRORS as exc:
            _shared_paused_until = time.monotonic() + SHARED_RETRY_SECONDS
            warn_outage(
                logger,
                "counters",
                "shared cache unreachable (%s): rate limits and sign-in throttling count in "
                "this process until it answers again",
                type(exc).__name__,
            )
    return operation(_process_store)


def counter_increment(key: str, *, timeout: int) -> int:
    """Count one at `key` and return the count. A new count expires `timeout` seconds after
    its first increment; later increments do not move that."""

    def increment(store: BaseCache) -> int:
        if store.add(key, 1, timeout):
            return 1
        try:
            return store.incr(key)
        except ValueError:  # expired between add and incr
            store.add(key, 1, timeout)
            return 1

    return _counting(increment)


def counter_value(key: str) -> int:
    return _counting(lambda store: store.get(key)) or 0


def counter_extend(key: str, *, timeout: int) -> None:
    """Let the count at `key` expire `timeout` seconds from now."""
    _counting(lambda store: store.touch(key, timeout))


def counter_reset(key: str) -> None:
    """Forget the count at `key`, also any this process kept during an outage."""
    _counting(lambda store: store.delete(key))
    _process_store.delete(key)
