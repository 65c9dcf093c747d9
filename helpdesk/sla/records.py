"""Recording SLA events (warning, breach, met) exactly once, with their timeline line."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from helpdesk.conversations.models import Conversation
from helpdesk.sla.models import SLAEvent, SLAEventKind, SLATarget

# English for the stored `text` (exports, logs); the console renders from the structured details.
TARGET_NAMES = {
    SLATarget.FIRST_RESPONSE: "First response",
    SLATarget.NEXT_RESPONSE: "Next response",
    SLATarget.RESOLUTION: "Resolution",
}
ACTIVITY_TEXT = {
    SLAEventKind.WARNING: "{target} SLA warning: due {due}",
    SLAEventKind.BREACHED: "{target} SLA breached (was due {due})",
    SLAEventKind.MET: "{target} SLA met",
    SLAEventKind.MET_LATE: "{target} SLA target done after breach (was due {due})",
}


def sla_event_record(
    *,
    conversation: Conversation,
    target: str,
    cycle: int,
    kind: str,
    due_at: datetime | None,
    at: datetime,
    elapsed: timedelta | None = None,
    business_time: bool | None = None,
) -> bool:
    """Insert the event unless it exists (unique on conversation, target, cycle, kind) and add
    a timeline line (event `sla_<kind>`, which the console renders) for every new event: warning,
    breach, met and met late. `business_time` says whether `elapsed` is business time or 24/7.
    Returns True when it was new.

    Runs in a savepoint so a concurrent duplicate leaves the caller's transaction usable."""
    try:
        with transaction.atomic():
            SLAEvent.objects.create(
                conversation=conversation,
                target=target,
                cycle=cycle,
                kind=kind,
                due_at=due_at,
                occurred_at=at,
                elapsed_seconds=int(elapsed.total_seconds()) if elapsed is not None else None,
                business_time=business_time if elapsed is not None else None,
                policy_id=conversation.sla_policy_id,
                channel_id=conversation.channel_id,
                team_id=conversation.team_id,
                assignee_id=conversation.assignee_id,
            )
    except IntegrityError:
        return False
    template = ACTIVITY_TEXT[SLAEventKind(kind)]
    # Imported here: the conversation services import the SLA timers at module level.
    from helpdesk.conversations.services.activity import activity_record

    activity_record(
        conversation=conversation,
        event=f"sla_{kind}",
        text=template.format(
            target=TARGET_NAMES[SLATarget(target)],
            due=due_at.isoformat(timespec="minutes") if due_at else "-",
        ),
        target=target,
        cycle=cycle,
        due_at=due_at.isoformat() if due_at else None,
    )
    return True
