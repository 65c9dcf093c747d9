"""The SLA breach job, scheduled every minute by migration `sla.0003_breach_schedule`."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from django.utils import timezone

from helpdesk.sla.breaches import Recipients, due_conversations, sla_process_due
from helpdesk.sla.policies import load_policies

logger = logging.getLogger(__name__)

BATCH_SIZE = 500  # ids per batch: the team members are loaded once per batch; no lock spans it
# Stop starting batches after this long so a run never overlaps the next one (interval: 60 s);
# what is left is due and is picked up by the next run.
TIME_BUDGET_SECONDS = 40.0


def check_deadlines(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Find conversations whose warning or deadline has passed (one indexed query), then record
    and notify them in batches (one query for the batch's team members), each conversation in
    its own short transaction. Safe to run twice or in two workers at once. Returns the number
    of warnings and breaches recorded."""
    started = time.monotonic()
    now = now or timezone.now()
    ids = list(due_conversations(now=now).values_list("pk", flat=True))
    if not ids:
        return 0
    policies = load_policies()
    recipients = Recipients.for_managers()
    recorded = 0
    for offset in range(0, len(ids), batch_size):
        if time.monotonic() - started > TIME_BUDGET_SECONDS:
            logger.warning("sla check stopped at its time budget; %s left", len(ids) - offset)
            break
        recorded += sla_process_due(
            conversation_ids=ids[offset : offset + batch_size],
            now=now,
            recipients=recipients,
            policies=policies,
        )
    return recorded


def acknowledge(message_id: int) -> None:
    """Job: acknowledge an inbound message (guards and idempotency live in the service)."""
    from helpdesk.sla.acknowledgements import acknowledgement_send

    acknowledgement_send(trigger_message_id=message_id)


def recompute_deadlines(policy_ids: list[int], after: int = 0) -> int:
    """Job: recompute stored deadlines after an SLA policy or calendar edit (queued by the
    admin through `helpdesk.sla.recompute`). Works for at most TIME_BUDGET_SECONDS, then queues
    its own continuation, so 100 000 conversations never hit the worker timeout. Idempotent."""
    from helpdesk.core.jobs import enqueue_now_rollback_unsafe
    from helpdesk.sla.recompute import RECOMPUTE_TASK, sla_deadlines_recompute

    progress = sla_deadlines_recompute(
        policy_ids=policy_ids, after=after, time_budget=TIME_BUDGET_SECONDS
    )
    if progress.resume_after is not None:
        enqueue_now_rollback_unsafe(
            RECOMPUTE_TASK, policy_ids=policy_ids, after=progress.resume_after
        )
    return progress.updated


def reevaluate_policies(after: int = 0) -> int:
    """Job: re-evaluate the policy of every open conversation after SLA rules or the default
    policy changed (queued by the admin through `helpdesk.sla.recompute.sla_rules_changed`).
    Works for at most TIME_BUDGET_SECONDS, then queues its own continuation. Idempotent."""
    from helpdesk.core.jobs import enqueue_now_rollback_unsafe
    from helpdesk.sla.recompute import REEVALUATE_TASK, sla_policies_reevaluate

    progress = sla_policies_reevaluate(after=after, time_budget=TIME_BUDGET_SECONDS)
    if progress.resume_after is not None:
        enqueue_now_rollback_unsafe(REEVALUATE_TASK, after=progress.resume_after)
    return progress.updated
