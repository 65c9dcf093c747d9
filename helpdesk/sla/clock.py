"""The SLA clock of one conversation, kept in `conversation.sla_state`.

Each running target is an entry in `sla_state["targets"]`:

    {"cycle": 2, "since": iso | None, "charged": seconds, "due": iso | None,
     "warn": iso | None, "warned": bool, "breached": bool}

`charged` is the time already counted before `since` (the clock's last start); while paused
`since`, `due` and `warn` are empty and only `charged` is kept, so a pause is never charged.
A deadline is `since + (length - charged)` in the target's time mode (business or 24/7).
`sync_fields` copies the entries to the conversation's indexed columns. No database access
here except through the caller's save; the callers hold the row lock.

A business-time target whose calendar never opens (no opening periods, closed for more than
`MAX_CLOSED_DAYS`, or an unknown time zone) keeps its clock running but gets no deadline: SLA
configuration must never make a customer message fail. `unscheduled` names such targets so the
callers can log them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from helpdesk.conversations.models import Conversation, ConversationStatus
from helpdesk.sla.business_time import NoOpeningHours, add_business_time, business_time_between
from helpdesk.sla.models import SLATarget
from helpdesk.sla.policies import TargetSpec

PAUSED_STATUSES = frozenset({ConversationStatus.PENDING, ConversationStatus.SNOOZED})
SLA_FIELDS = [
    "sla_policy",
    "first_response_due_at",
    "next_response_due_at",
    "resolution_due_at",
    "sla_next_due_at",
    "sla_unrecorded_due_at",
    "sla_warn_at",
    "sla_paused_at",
    "sla_state",
]
DUE_FIELD = {
    SLATarget.FIRST_RESPONSE: "first_response_due_at",
    SLATarget.NEXT_RESPONSE: "next_response_due_at",
    SLATarget.RESOLUTION: "resolution_due_at",
}


@dataclass(frozen=True)
class Completion:
    """A target cycle that ended: met in time or after its deadline. `business` tells whether
    `elapsed` counts business time (the target ran on a calendar) or plain 24/7 time."""

    target: str
    cycle: int
    due_at: datetime | None
    elapsed: timedelta
    late: bool
    breach_recorded: bool
    business: bool = False


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def entries(conversation: Conversation) -> dict[str, dict[str, Any]]:
    state = conversation.sla_state if isinstance(conversation.sla_state, dict) else {}
    conversation.sla_state = state
    return state.setdefault("targets", {})


def next_cycle(conversation: Conversation, target: str) -> int:
    cycles = conversation.sla_state.setdefault("cycles", {})
    cycles[target] = cycles.get(target, -1) + 1
    return cycles[target]


def schedule(entry: dict[str, Any], spec: TargetSpec) -> None:
    """Set `due` and `warn` of a running entry from its length and time charged so far."""
    since = parse_time(entry.get("since"))
    if since is None:
        entry["due"] = entry["warn"] = None
        return
    charged = timedelta(seconds=entry.get("charged", 0))
    try:
        entry["due"] = _iso(add_business_time(spec.calendar, since, spec.length - charged))
        if spec.warn_fraction is None or entry.get("warned"):
            entry["warn"] = None
        else:
            warn_after = spec.length * spec.warn_fraction - charged
            entry["warn"] = _iso(add_business_time(spec.calendar, since, warn_after))
    except NoOpeningHours:
        entry["due"] = entry["warn"] = None  # running without a deadline; see `unscheduled`


def unscheduled(conversation: Conversation) -> list[str]:
    """Targets whose clock runs but that have no deadline (their calendar never opens)."""
    return sorted(
        name for name, e in entries(conversation).items() if e.get("since") and not e.get("due")
    )


def start(
    conversation: Conversation, target: str, spec: TargetSpec, *, at: datetime, paused: bool
) -> None:
    entry = {
        "cycle": next_cycle(conversation, target),
        "since": None if paused else _iso(at),
        "charged": 0.0,
        "warned": False,
        "breached": False,
    }
    schedule(entry, spec)
    entries(conversation)[target] = entry


def elapsed(entry: dict[str, Any], spec: TargetSpec | None, at: datetime) -> timedelta:
    charged = timedelta(seconds=entry.get("charged", 0))
    since = parse_time(entry.get("since"))
    if since is None or at <= since:
        return charged
    return charged + business_time_between(spec.calendar if spec else None, since, at)


def pause(entry: dict[str, Any], spec: TargetSpec | None, at: datetime) -> None:
    if entry.get("since") is None:
        return
    entry["charged"] = elapsed(entry, spec, at).total_seconds()
    entry["since"] = entry["due"] = entry["warn"] = None


def resume(entry: dict[str, Any], spec: TargetSpec, at: datetime) -> None:
    if entry.get("since") is not None:
        return
    entry["since"] = _iso(at)
    schedule(entry, spec)


def complete(
    conversation: Conversation, target: str, spec: TargetSpec | None, at: datetime
) -> Completion | None:
    entry = entries(conversation).pop(target, None)
    if entry is None:
        return None
    due = parse_time(entry.get("due"))
    spent = elapsed(entry, spec, at)
    late = bool(entry.get("breached")) or (due is not None and at > due)
    if spec is not None and spent > spec.length:
        late = True
    return Completion(
        target=target,
        cycle=entry["cycle"],
        due_at=due,
        elapsed=spent,
        late=late,
        breach_recorded=bool(entry.get("breached")),
        business=spec is not None and spec.calendar is not None,
    )


def sync_fields(conversation: Conversation, *, at: datetime) -> None:
    """Copy entries to the indexed columns: per-target deadlines; `sla_next_due_at`, the
    earliest deadline not yet met (breached ones included: the inbox's "due soonest" sort);
    `sla_unrecorded_due_at`, the earliest deadline whose breach is not recorded yet, and
    `sla_warn_at`, the earliest warning not yet recorded (both for the breach job); and the
    pause start."""
    targets = entries(conversation)
    for target, field in DUE_FIELD.items():
        entry = targets.get(str(target))
        setattr(conversation, field, parse_time(entry.get("due")) if entry else None)
    unmet_due = [parse_time(e["due"]) for e in targets.values() if e.get("due")]
    pending_due = [
        parse_time(e["due"]) for e in targets.values() if e.get("due") and not e.get("breached")
    ]
    pending_warn = [
        parse_time(e["warn"])
        for e in targets.values()
        if e.get("warn") and not e.get("warned") and not e.get("breached")
    ]
    conversation.sla_next_due_at = min(unmet_due) if unmet_due else None
    conversation.sla_unrecorded_due_at = min(pending_due) if pending_due else None
    conversation.sla_warn_at = min(pending_warn) if pending_warn else None
    paused = any(e.get("since") is None for e in targets.values())
    if paused and conversation.sla_paused_at is None:
        conversation.sla_paused_at = at
    elif not paused:
        conversation.sla_paused_at = None


def is_paused(conversation: Conversation) -> bool:
    return conversation.status in PAUSED_STATUSES
