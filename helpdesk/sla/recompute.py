"""Recomputing stored SLA policies and deadlines after SLA settings are edited.

Deadlines are stored on each conversation (so the breach job and the inbox sort are single
indexed queries), so they go stale when a policy's targets or a calendar's periods, holidays or
time zone change. The admin calls `sla_policy_changed` / `sla_calendar_changed` on save; they
queue one job after commit, which walks the affected open conversations in primary-key chunks.
The policy chosen for each conversation is stored too, so it goes stale when rules or the
default policy change: `sla_rules_changed` queues a job that re-evaluates every open
conversation the same way.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from helpdesk.conversations.models import Conversation, ConversationStatus
from helpdesk.core.jobs import enqueue_on_commit
from helpdesk.sla import clock, timers
from helpdesk.sla.models import BusinessCalendar, SLAPolicy, SLARule
from helpdesk.sla.policies import load_policies

logger = logging.getLogger(__name__)

RECOMPUTE_TASK = "helpdesk.sla.tasks.recompute_deadlines"
REEVALUATE_TASK = "helpdesk.sla.tasks.reevaluate_policies"
# Rows locked per transaction: small enough that other writers (one SQLite write lock) wait a
# few tens of milliseconds at most; 100 000 conversations take 1 000 short transactions.
CHUNK_SIZE = 100


def sla_policy_changed(*, policy: SLAPolicy) -> None:
    """Queue the recompute of the policy's open conversations once the edit commits."""
    enqueue_on_commit(RECOMPUTE_TASK, policy_ids=[policy.pk])


def sla_rules_changed() -> None:
    """Queue the re-evaluation of every open conversation's policy once the edit (of SLA rules,
    of which policy is the default, or a policy's deletion) commits."""
    enqueue_on_commit(REEVALUATE_TASK)


def sla_calendar_changed(*, calendar: BusinessCalendar) -> None:
    """Queue the recompute of open conversations on every policy using this calendar once the
    edit commits (nothing when no policy uses it)."""
    policy_ids = sorted(SLAPolicy.objects.filter(calendar=calendar).values_list("pk", flat=True))
    if policy_ids:
        enqueue_on_commit(RECOMPUTE_TASK, policy_ids=policy_ids)


def open_conversations() -> QuerySet[Conversation]:
    """Unresolved conversations."""
    return Conversation.objects.exclude(status=ConversationStatus.RESOLVED)


def open_conversations_on(policy_ids: list[int]) -> QuerySet[Conversation]:
    """Unresolved conversations on these policies."""
    return open_conversations().filter(sla_policy_id__in=policy_ids)


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
    now = now or timezone.now()
    policies = load_policies()
    wanted = sorted(pk for pk in set(policy_ids) if pk in policies.by_id)
    if not wanted:
        return RecomputeProgress(updated=0, resume_after=None)
    return _in_chunks(
        conversations=lambda: open_conversations_on(wanted),
        update=lambda conversation: timers.sla_on_policy_settings_changed(
            conversation=conversation, policies=policies, at=now
        ),
        after=after,
        chunk_size=chunk_size,
        time_budget=time_budget,
        what=f"deadlines policies={wanted}",
    )


def sla_policies_reevaluate(
    *,
    after: int = 0,
    now: datetime | None = None,
    chunk_size: int | None = None,
    time_budget: float | None = None,
) -> RecomputeProgress:
    """Re-evaluate which policy applies to every unresolved conversation (with a primary key
    above `after`) under the current rules and default; move those whose policy changes, with
    the time already charged carried over (see `timers.sla_on_rules_changed`).

    Which conversations a rule edit affects depends on the old and the new rules, so this
    walks them all, in the same locked, resumable chunks as `sla_deadlines_recompute`, and
    writes only the rows whose policy changes. Idempotent: a second run, or two at once,
    changes nothing more."""
    now = now or timezone.now()
    policies = load_policies()
    return _in_chunks(
        conversations=lambda: (
            open_conversations().select_related("customer").prefetch_related("labels")
        ),
        update=lambda conversation: timers.sla_on_rules_changed(
            conversation=conversation, policies=policies, at=now
        ),
        after=after,
        chunk_size=chunk_size,
        time_budget=time_budget,
        what="policies of open conversations",
    )


def _in_chunks(
    *,
    conversations: Callable[[], QuerySet[Conversation]],
    update: Callable[[Conversation], bool],
    after: int,
    chunk_size: int | None,
    time_budget: float | None,
    what: str,
) -> RecomputeProgress:
    """Apply `update` to the `conversations()` above `after`, in primary-key chunks, each a
    short transaction with its rows locked (only theirs, not joined rows) and re-read; save
    the rows `update` says it changed. Stops between chunks once `time_budget` is spent."""
    started = time.monotonic()
    chunk_size = chunk_size or CHUNK_SIZE
    ids = list(conversations().filter(pk__gt=after).order_by("pk").values_list("pk", flat=True))
    updated = unscheduled = 0
    for offset in range(0, len(ids), chunk_size):
        # Out of time: stop between chunks (after at least one, so every run makes progress).
        if offset and time_budget is not None and time.monotonic() - started > time_budget:
            logger.info("sla recompute of %s paused updated=%s", what, updated)
            return RecomputeProgress(updated=updated, resume_after=ids[offset - 1])
        chunk = ids[offset : offset + chunk_size]
        with transaction.atomic():
            rows = list(
                conversations().select_for_update(of=("self",)).filter(pk__in=chunk).order_by("pk")
            )
            changed = [conversation for conversation in rows if update(conversation)]
            for conversation in changed:  # one small UPDATE each: far cheaper than bulk_update
                conversation.save(update_fields=clock.SLA_FIELDS)
        updated += len(changed)
        unscheduled += sum(1 for conversation in changed if clock.unscheduled(conversation))
    if unscheduled:
        logger.warning(
            "sla recompute of %s: %s conversations run without a deadline "
            "(a business calendar that never opens)",
            what,
            unscheduled,
        )
    logger.info("sla recompute of %s done updated=%s", what, updated)
    return RecomputeProgress(updated=updated, resume_after=None)


def sla_rule_inputs_deleting(*, teams: Iterable[int] = (), labels: Iterable[int] = ()) -> None:
    """Teams or labels are about to be deleted (their rules go with them): when any rule
    used them, queue the re-evaluation once the deletion commits."""
    rules = SLARule.objects.filter(Q(team_id__in=list(teams)) | Q(label_id__in=list(labels)))
    if rules.exists():
        sla_rules_changed()
