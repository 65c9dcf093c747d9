"""The per-socket cursor that catches an open websocket up from the event log on its pings."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext

from channels_app.catch_up import LogCursor, forget_head
from helpdesk.core.models import RealtimeEvent
from helpdesk.core.realtime import broadcast_on_commit, latest_event_id

pytestmark = pytest.mark.django_db(transaction=True)  # database_sync_to_async closes connections


def log(group: str, **facts: object) -> int:
    return broadcast_on_commit(group, {"type": "conversation.updated", **facts})["id"]


def missed(cursor: LogCursor, groups: list[str], limit: int = 100) -> tuple[list[int], bool]:
    forget_head()  # as if the next ping came after the head's time to live
    result = async_to_sync(cursor.missed)(groups, limit=limit)
    return [event["id"] for event in result.events], result.more


def test_log_cursor_replays_its_groups_events_since_it_started_once():
    log("inbox.1", n=0)  # before the socket listened: the page showed it
    cursor = LogCursor(start=latest_event_id())
    live, missed_one = log("inbox.1", n=1), log("inbox.1", n=2)
    log("inbox.2", n=3)
    assert cursor.given(live)  # delivered live by the channel layer
    assert missed(cursor, ["inbox.1", "agent.1"]) == ([missed_one], False)
    assert missed(cursor, ["inbox.1", "agent.1"]) == ([], False)
    assert not cursor.given(missed_one)  # and not sent again if it arrives live after all


def test_log_cursor_replays_in_bounded_steps():
    cursor = LogCursor(start=latest_event_id())
    ids = [log("inbox.1", n=n) for n in range(5)]
    assert missed(cursor, ["inbox.1"], limit=3) == (ids[:3], True)
    assert missed(cursor, ["inbox.1"], limit=3) == (ids[3:], False)
    newer = log("inbox.1", n=5)  # more recent events than the limit were given: still found
    assert missed(cursor, ["inbox.1"], limit=3) == ([newer], False)


def test_log_cursor_finds_an_event_that_committed_after_a_larger_id():
    """PostgreSQL hands out ids at insert: a slow transaction's event can become visible after
    a larger one the socket was already checked past."""
    cursor = LogCursor(start=latest_event_id())
    first = log("inbox.1", n=1)
    assert cursor.given(first)
    later = RealtimeEvent.objects.create(
        id=first + 10, group="inbox.1", type="conversation.updated", payload={"n": 3}
    )
    assert missed(cursor, ["inbox.1"]) == ([later.id], False)
    late = RealtimeEvent.objects.create(
        id=first + 5, group="inbox.1", type="conversation.updated", payload={"n": 2}
    )
    assert missed(cursor, ["inbox.1"]) == ([late.id], False)


def test_log_cursor_idle_sockets_cost_no_query_beyond_one_head_read():
    log("inbox.1", n=0)
    forget_head()
    cursors = [LogCursor(start=latest_event_id()) for _ in range(200)]
    with CaptureQueriesContext(connection) as queries:
        for cursor in cursors:
            assert async_to_sync(cursor.missed)(["inbox.1", "agent.1"], limit=100).events == []
    assert len(queries) <= 2  # the head, read once for all of them
