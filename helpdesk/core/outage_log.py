"""Warnings about an outage that lasts (Redis down): logged once, then at most once a minute
per kind and process, instead of once per request or per socket."""

from __future__ import annotations

import logging
import threading
import time

EVERY_SECONDS = 60.0

_last: dict[str, float] = {}
_lock = threading.Lock()


def warn_outage(logger: logging.Logger, kind: str, message: str, *args: object) -> None:
    """`logger.warning(message, *args)` unless a warning of this `kind` was logged in the last
    EVERY_SECONDS."""
    now = time.monotonic()
    with _lock:
        last = _last.get(kind)
        if last is not None and now - last < EVERY_SECONDS:
            return
        _last[kind] = now
    logger.warning(message, *args)
