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
BatchHandler = Callable[[list[RawInbound], dict[int, Channel]], None]

HANDLERS: dict[str, str] = {
    "twilio.message": "channels_app.twilio.inbound:process_message_row",
    "twilio.status": "channels_app.twilio.inbound:process_status_row",
}
# Kinds that can also be processed many rows at a time. A batch handler does what the row
# handler does for each row, in order; if it raises, the processor falls back to row by row.
BATCH_HANDLERS: dict[str, str] = {
    "twilio.message": "channels_app.twilio.inbound:process_message_rows",
}


class Unprocessable(Exception):
    """The row can never be processed as stored (its reason is kept on the parked row)."""


_loaded: dict[str, RowHandler] = {}
_loaded_batch: dict[str, BatchHandler | None] = {}


def _import(path: str) -> Callable[..., None]:
    module, _, attr = path.partition(":")
    return getattr(import_module(module), attr)


def handler_for(kind: str) -> RowHandler:
    if kind not in _loaded:
        if kind not in HANDLERS:
            raise Unprocessable(f"No handler for inbound kind {kind!r}.")
        _loaded[kind] = _import(HANDLERS[kind])
    return _loaded[kind]


def batch_handler_for(kind: str) -> BatchHandler | None:
    if kind not in _loaded_batch:
        _loaded_batch[kind] = _import(BATCH_HANDLERS[kind]) if kind in BATCH_HANDLERS else None
    return _loaded_batch[kind]
