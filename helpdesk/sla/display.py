"""What the console shows about a conversation's SLA: pure, no queries (reads the row only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import F

from helpdesk.conversations.models import Conversation
from helpdesk.sla import clock

# "Due soonest" inbox sort: the earliest pending deadline first (served by the partial index
# `conv_sla_due`), conversations without a running deadline (paused, resolved, no policy) last.
# A target already breached drops out of `sla_next_due_at` once the breach job has recorded it;
# `sla_display` still reports it as breached.
SLA_DUE_SOONEST_ORDER = (F("sla_next_due_at").asc(nulls_last=True), F("pk").asc())


def sla_display(conversation: Conversation, now: datetime) -> dict[str, Any]:
    """The deadline to show: the most urgent running target (breached ones first).

    Returns {"state": "none" | "paused" | "ok" | "warning" | "breached", "target": name or
    None, "due_at": ISO or None, "seconds_left": int or None (negative when overdue)}.
    While paused, `seconds_left` is None: the clock does not run."""
    targets = (conversation.sla_state or {}).get("targets", {})
    if not targets:
        return {"state": "none", "target": None, "due_at": None, "seconds_left": None}
    running = [(name, e) for name, e in targets.items() if e.get("due")]
    if not running:
        name = sorted(targets)[0]
        return {"state": "paused", "target": name, "due_at": None, "seconds_left": None}

    def urgency(item: tuple[str, dict[str, Any]]) -> tuple[bool, datetime]:
        _name, entry = item
        due = clock.parse_time(entry["due"])
        return (not (entry.get("breached") or due <= now), due)

    name, entry = min(running, key=urgency)
    due = clock.parse_time(entry["due"])
    warn = clock.parse_time(entry.get("warn"))
    if entry.get("breached") or due <= now:
        state = "breached"
    elif entry.get("warned") or (warn is not None and warn <= now):
        state = "warning"
    else:
        state = "ok"
    return {
        "state": state,
        "target": name,
        "due_at": due.isoformat(),
        "seconds_left": int((due - now).total_seconds()),
    }
