"""Catching an open websocket up from the event log on its pings, so events the channel layer
did not deliver (Redis down, its groups not joined yet, pub/sub dropping messages across a
reconnect) reach it within one ping interval, without a reload.

Each socket keeps a cursor: the log position up to which it has been given every event of its
groups, and the ids it was given beyond (live or replayed), so nothing is sent twice. A ping
compares the cursor with the head of the log, read at most once a second per process, and
queries the socket's groups only when the log has moved: thousands of idle sockets in a quiet
helpdesk cost no query. The query also looks back over LATE_COMMIT_WINDOW (never before the
socket's start), because on PostgreSQL an event may commit after one with a larger id.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from channels.db import database_sync_to_async
from django.utils import timezone

from helpdesk.core.models import RealtimeEvent

HEAD_TTL_SECONDS = 1.0
# More than a ping interval (~25 s) plus a slow transaction.
LATE_COMMIT_WINDOW = timedelta(seconds=60)
_GIVEN_LIMIT = 5000


@dataclass(frozen=True)
class LogHead:
    last_id: int
    recent_from: int  # the first id logged within LATE_COMMIT_WINDOW (last_id + 1 if none)


_head: tuple[float, LogHead] | None = None


@database_sync_to_async
def _read_head() -> LogHead:
    ids = RealtimeEvent.objects.values_list("id", flat=True)
    last_id = ids.order_by("-id").first() or 0
    recent = ids.filter(created_at__gte=timezone.now() - LATE_COMMIT_WINDOW).order_by("id")
    return LogHead(last_id=last_id, recent_from=recent.first() or last_id + 1)


async def log_head() -> LogHead:
    """The head of the event log, as read by this process at most HEAD_TTL_SECONDS ago."""
    global _head
    now = time.monotonic()
    if _head is None or now - _head[0] >= HEAD_TTL_SECONDS:
        _head = (now, await _read_head())
    return _head[1]


def forget_head() -> None:
    global _head
    _head = None


@database_sync_to_async
def _logged_events(
    groups: Sequence[str], after: int, up_to: int, count: int, *, newest: bool = False
) -> list[dict[str, Any]]:
    """Events of `groups` with ids in (after, up_to], oldest first: the first `count`, or the
    last `count` if `newest`."""
    rows = RealtimeEvent.objects.filter(group__in=groups, id__gt=after, id__lte=up_to)
    rows = rows.order_by("-id" if newest else "id").values_list("id", "payload")[:count]
    events = [{**payload, "id": event_id} for event_id, payload in rows]
    return events[::-1] if newest else events


@dataclass
class Missed:
    events: list[dict[str, Any]]
    more: bool  # the limit was reached: more remain after these


@dataclass
class LogCursor:
    """Where one socket stands in the event log. `start` is the log's last id when the socket
    began listening (what came before, the page or an explicit catch-up provides)."""

    start: int
    position: int = field(init=False)
    head: int = field(init=False)
    _given: set[int] = field(default_factory=set, init=False, repr=False)

    def __post_init__(self) -> None:
        self.position = self.head = self.start

    def given(self, event_id: Any) -> bool:
        """Note that the event is being sent to the socket; False if it already was."""
        if not isinstance(event_id, int):
            return True  # nothing to tell it apart by
        if event_id in self._given:
            return False
        self._given.add(event_id)
        if len(self._given) > _GIVEN_LIMIT:
            self._given = set(sorted(self._given)[_GIVEN_LIMIT // 2 :])
        return True

    async def missed(self, groups: Sequence[str], *, limit: int) -> Missed:
        """Logged events of `groups` the socket has not been given, oldest first: at most
        `limit` new ones, with `more` when others remain (the next call continues), after
        any that committed late below the cursor."""
        head = await log_head()
        self.head = max(self.head, head.last_id)
        if not groups:
            self.position = max(self.position, head.last_id)
            return Missed(events=[], more=False)
        forward_from = max(self.start, self.position)
        back_from = max(self.start, head.recent_from - 1)
        events = []
        if back_from < forward_from:  # look again at the recent past for late commits
            rows = await _logged_events(groups, back_from, forward_from, limit, newest=True)
            events += [event for event in rows if self.given(event["id"])]
        more = False
        if head.last_id > forward_from:
            rows = await _logged_events(groups, forward_from, head.last_id, limit + 1)
            more = len(rows) > limit
            rows = rows[:limit]
            events += [event for event in rows if self.given(event["id"])]
            self.position = rows[-1]["id"] if more else head.last_id
        keep_from = min(self.position + 1, head.recent_from)
        self._given = {event_id for event_id in self._given if event_id >= keep_from}
        return Missed(events=events, more=more)

    def skip_to_head(self) -> int:
        """Give up replaying what is left (the client reloads what it shows instead)."""
        self.position = max(self.position, self.head)
        return self.position
