"""Which function turns a stored row of each kind into domain records.

A handler takes the claimed `RawInbound` row and its channel and calls domain services; it runs
inside the batch's transaction (in a savepoint of its own) and must be idempotent, since a
batch that fails is retried row by row. Raising `Unprocessable` parks the row at once (no retry
can help); any other exception is retried with backoff, then parked.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module

from channels_app.models import RawInbound
from helpdesk.inboxes.models import Channel

RowHandler = Callable[[RawInbound, Channel], None]

HANDLERS: dict[str, str] = {
    "twilio.message": "channels_app.twilio.inbound:process_message_row",
    "twilio.status": "channels_app.twilio.inbound:process_status_row",
}


class Unprocessable(Exception):
    """The row can never be processed as stored (its reason is kept on the parked row)."""


_loaded: dict[str, RowHandler] = {}


def handler_for(kind: str) -> RowHandler:
    if kind not in _loaded:
        if kind not in HANDLERS:
            raise Unprocessable(f"No handler for inbound kind {kind!r}.")
        module, _, attr = HANDLERS[kind].partition(":")
        _loaded[kind] = getattr(import_module(module), attr)
    return _loaded[kind]
