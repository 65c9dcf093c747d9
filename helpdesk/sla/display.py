"""What the console shows about a conversation's SLA: pure, no queries (reads the row only)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import F

from helpdesk.conversations.models import Conversation
from helpdesk.sla import clock

# "Due soonest" inbox sort: the earliest unmet deadline first, overdue and breached ones
# included (`sla_next_due_at` keeps a breached deadline until the target is met; the breach job
# reads `sla_unrecorded_due_at` instead), so the longest-overdue conversation leads.
# Conversations without a running deadline (paused, resolved, no policy) come last.
SLA_DUE_SOONEST_ORDER = (F("sla_next_due_at").asc(nulls_last=True), F("pk").asc())


def sla_display(conversation: Conversation, now: datetime) -> dict[str, Any]:
    """The deadline to show: the most urgent running target (breached ones first).

    Returns {"state": "none" | "paused" | "ok" | "warning" | "breached", "target": name or
    None, "due_at": ISO or None, "seconds_left": int or None (negative when overdue)}.
    While paused, `seconds_left` is None: the clock does not run. A target running without a
    deadline (its calendar never opens) shows as "none"."""
    targets = (conversation.sla_state or {}).get("targets", {})
    running = [(name, e) for name, e in targets.items() if e.get("due")]
    if not running:
        paused = sorted(name for name, e in targets.items() if not e.get("since"))
        if paused:
            return {"state": "paused", "target": paused[0], "due_at": None, "seconds_left": None}
        return {"state": "none", "target": None, "due_at": None, "seconds_left": None}

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
