"""Recomputing stored deadlines after an SLA policy or business calendar is edited.

Deadlines are stored on each conversation (so the breach job and the inbox sort are single
indexed queries), so they go stale when a policy's targets or a calendar's periods, holidays or
time zone change. The admin calls `sla_policy_changed` / `sla_calendar_changed` on save; they
queue one job after commit, which walks the affected open conversations in primary-key chunks.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from helpdesk.conversations.models import Conversation, ConversationStatus
from helpdesk.core.jobs import enqueue_on_commit
from helpdesk.sla import clock, timers
from helpdesk.sla.models import BusinessCalendar, SLAPolicy
from helpdesk.sla.policies import load_policies

logger = logging.getLogger(__name__)

RECOMPUTE_TASK = "helpdesk.sla.tasks.recompute_deadlines"
# Rows locked per transaction: small enough that other writers (one SQLite write lock) wait a
# few tens of milliseconds at most; 100 000 conversations take 1 000 short transactions.
CHUNK_SIZE = 100


def sla_policy_changed(*, policy: SLAPolicy) -> None:
    """Queue the recompute of the policy's open conversations once the edit commits."""
    enqueue_on_commit(RECOMPUTE_TASK, policy_ids=[policy.pk])


def sla_calendar_changed(*, calendar: BusinessCalendar) -> None:
    """Queue the recompute of open conversations on every policy using this calendar once the
    edit commits (nothing when no policy uses it)."""
    policy_ids = sorted(SLAPolicy.objects.filter(calendar=calendar).values_list("pk", flat=True))
    if policy_ids:
        enqueue_on_commit(RECOMPUTE_TASK, policy_ids=policy_ids)


def open_conversations_on(policy_ids: list[int]) -> QuerySet[Conversation]:
    """Unresolved conversations on these policies."""
    return Conversation.objects.filter(sla_policy_id__in=policy_ids).exclude(
        status=ConversationStatus.RESOLVED
    )


@dataclass(frozen=True)
class RecomputeProgress:
    updated: int
    resume_after: int | None  # set when the time budget ran out: continue after this pk


def sla_deadlines_recompute(
    *,
    policy_ids: list[int],
    after: int = 0,
    now: datetime | None = None,
    chunk_size: int | None = None,
    time_budget: float | None = None,
) -> RecomputeProgress:
    """Recompute the deadlines of every unresolved conversation on these policies (with a
    primary key above `after`) from the current settings; see
    `timers.sla_on_policy_settings_changed`.

    Reads the affected ids once (the `sla_policy` foreign-key index), then works through them
    in chunks of `chunk_size` (default CHUNK_SIZE), each one short transaction with its rows
    locked and re-checked (the timers hold the same locks, so no update is lost); writes only
    the rows that change. With `time_budget` (seconds) it stops between chunks and says where
    to resume. Idempotent: a second run, or two at once, changes nothing more. Policies deleted
    meanwhile are skipped. On SQLite, 5 000 conversations take ~1.6 s to rewrite and ~0.9 s to
    confirm unchanged (a chunk holds the write lock for ~30 ms)."""
    started = time.monotonic()
    now = now or timezone.now()
    chunk_size = chunk_size or CHUNK_SIZE
    policies = load_policies()
    wanted = sorted(pk for pk in set(policy_ids) if pk in policies.by_id)
    if not wanted:
        return RecomputeProgress(updated=0, resume_after=None)
    ids = list(
        open_conversations_on(wanted)
        .filter(pk__gt=after)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    updated = unscheduled = 0
    for offset in range(0, len(ids), chunk_size):
        # Out of time: stop between chunks (after at least one, so every run makes progress).
        if offset and time_budget is not None and time.monotonic() - started > time_budget:
            logger.info("sla deadline recompute paused policies=%s updated=%s", wanted, updated)
            return RecomputeProgress(updated=updated, resume_after=ids[offset - 1])
        chunk = ids[offset : offset + chunk_size]
        with transaction.atomic():
            rows = list(
                open_conversations_on(wanted)
                .select_for_update()
                .filter(pk__in=chunk)
                .order_by("pk")
            )
            changed = [
                conversation
                for conversation in rows
                if timers.sla_on_policy_settings_changed(
                    conversation=conversation, policies=policies, at=now
                )
            ]
            for conversation in changed:  # one small UPDATE each: far cheaper than bulk_update
                conversation.save(update_fields=clock.SLA_FIELDS)
        updated += len(changed)
        unscheduled += sum(1 for conversation in changed if clock.unscheduled(conversation))
    if unscheduled:
        logger.warning(
            "sla deadline recompute: %s conversations on policies=%s run without a deadline "
            "(a business calendar that never opens)",
            unscheduled,
            wanted,
        )
    logger.info("sla deadlines recomputed policies=%s updated=%s", wanted, updated)
    return RecomputeProgress(updated=updated, resume_after=None)
