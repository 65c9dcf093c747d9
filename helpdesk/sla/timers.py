"""Seams the conversation services call at each timer-relevant moment.

Each function is called inside the service's transaction with the conversation row locked, and
must not commit. They keep the SLA clock (`helpdesk.sla.clock`) and the conversation's deadline
columns right, and record met targets (and breaches found at completion) exactly once.

Rules: first response and resolution start when a conversation is created; next response starts
when the customer writes after the first response and no reply is owed yet; a public agent reply
ends first/next response (notes never call in here); resolving ends resolution and cancels the
response targets; pending and snoozed pause every clock and the paused time is not charged.
When priority, team or labels change, the policy is re-evaluated and deadlines recomputed with
the time already charged carried over; the same happens to every open conversation when SLA
rules or the default policy are edited (`sla_on_rules_changed`). When a policy's or calendar's
settings change, the deadlines of its open conversations are recomputed
(`sla_on_policy_settings_changed`).
A target whose calendar never opens runs without a deadline and is logged as a warning.
"""

from __future__ import annotations

import copy
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk.conversations.models import ConversationStatus
from helpdesk.sla import clock
from helpdesk.sla.models import SLAEventKind, SLATarget
from helpdesk.sla.policies import PolicySet, load_policies
from helpdesk.sla.records import sla_event_record

if TYPE_CHECKING:
    from helpdesk.conversations.models import Conversation
    from helpdesk.sla.models import SLAPolicy

FIRST = str(SLATarget.FIRST_RESPONSE)
NEXT = str(SLATarget.NEXT_RESPONSE)
RESOLUTION = str(SLATarget.RESOLUTION)

logger = logging.getLogger(__name__)


def _save(conversation: Conversation, at: datetime, *, save: bool = True) -> None:
    """Bring the deadline columns in line with the clock; write them unless the caller saves
    the conversation itself (a batch writes each conversation once)."""
    clock.sync_fields(conversation, at=at)
    warn_if_unscheduled(conversation)
    if save and conversation.pk is not None:
        conversation.save(update_fields=clock.SLA_FIELDS)


def warn_if_unscheduled(conversation: Conversation) -> None:
    """Log targets that run without a deadline (their calendar never opens): the message goes
    through, the configuration needs fixing."""
    unscheduled = clock.unscheduled(conversation)
    if unscheduled:
        logger.warning(
            "sla targets %s of conversation=%s run without a deadline: policy=%s has a "
            "business calendar that never opens",
            ",".join(unscheduled),
            conversation.pk,
            conversation.sla_policy_id,
        )


def _record_completion(
    conversation: Conversation, completion: clock.Completion, at: datetime
) -> None:
    if completion.late and not completion.breach_recorded:
        sla_event_record(
            conversation=conversation,
            target=completion.target,
            cycle=completion.cycle,
            kind=SLAEventKind.BREACHED,
            due_at=completion.due_at,
            at=min(completion.due_at, at) if completion.due_at else at,
        )
    sla_event_record(
        conversation=conversation,
        target=completion.target,
        cycle=completion.cycle,
        kind=SLAEventKind.MET_LATE if completion.late else SLAEventKind.MET,
        due_at=completion.due_at,
        at=at,
        elapsed=completion.elapsed,
        business_time=completion.business,
    )


def _start_missing(conversation: Conversation, policies: PolicySet, at: datetime) -> None:
    """Start the targets the conversation's policy sets but that are not running yet."""
    if conversation.status == ConversationStatus.RESOLVED:
        return
    targets = policies.targets(policies.by_id.get(conversation.sla_policy_id))
    running = clock.entries(conversation)
    paused = clock.is_paused(conversation)
    wanted = [RESOLUTION]
    if conversation.first_response_at is None:
        wanted.append(FIRST)
    elif conversation.waiting_since is not None:
        wanted.append(NEXT)
    for name in wanted:
        if name in targets and name not in running:
            clock.start(conversation, name, targets[name], at=at, paused=paused)


# The inbound seams take `policies` (loaded once per batch) and `save=False` from batch writers,
# which then write each conversation once with every changed column.


def sla_on_conversation_created(
    *,
    conversation: Conversation,
    at: datetime,
    policies: PolicySet | None = None,
    save: bool = True,
) -> None:
    policies = load_policies() if policies is None else policies
    if not policies:
        return
    conversation.sla_policy = policies.for_conversation(conversation)
    if conversation.sla_policy is None:
        return
    _start_missing(conversation, policies, at)
    _save(conversation, at, save=save)


def sla_on_customer_message(
    *,
    conversation: Conversation,
    at: datetime,
    policies: PolicySet | None = None,
    save: bool = True,
) -> None:
    policies = load_policies() if policies is None else policies
    if not policies:
        return
    if conversation.sla_policy_id is None:
        conversation.sla_policy = policies.for_conversation(conversation)
        if conversation.sla_policy is None:
            return
        _start_missing(conversation, policies, at)
    running = clock.entries(conversation)
    targets = policies.targets(policies.by_id.get(conversation.sla_policy_id))
    waiting_for_first = conversation.first_response_at is None or FIRST in running
    if not waiting_for_first and NEXT not in running and NEXT in targets:
        clock.start(conversation, NEXT, targets[NEXT], at=at, paused=clock.is_paused(conversation))
    _save(conversation, at, save=save)


def sla_on_agent_reply(*, conversation: Conversation, at: datetime) -> None:
    running = clock.entries(conversation)
    if FIRST not in running and NEXT not in running:
        return
    policies = load_policies()
    targets = policies.targets(policies.by_id.get(conversation.sla_policy_id))
    for name in (FIRST, NEXT):
        completion = clock.complete(conversation, name, targets.get(name), at)
        if completion is not None:
            _record_completion(conversation, completion, at)
    _save(conversation, at)


def sla_on_status_changed(
    *,
    conversation: Conversation,
    old_status: str,
    new_status: str,
    at: datetime,
    policies: PolicySet | None = None,
    save: bool = True,
) -> None:
    running = clock.entries(conversation)
    if not running and conversation.sla_policy_id is None:
        return
    policies = load_policies() if policies is None else policies
    targets = policies.targets(policies.by_id.get(conversation.sla_policy_id))
    paused = clock.PAUSED_STATUSES
    if new_status == ConversationStatus.RESOLVED:
        completion = clock.complete(conversation, RESOLUTION, targets.get(RESOLUTION), at)
        if completion is not None:
            _record_completion(conversation, completion, at)
        running.pop(FIRST, None)  # resolved without a reply: nothing is owed any more
        running.pop(NEXT, None)
    elif new_status in paused and old_status not in paused:
        for name, entry in running.items():
            clock.pause(entry, targets.get(name), at)
    elif new_status == ConversationStatus.OPEN:
        for name, entry in list(running.items()):
            if name in targets:
                clock.resume(entry, targets[name], at)
            else:
                del running[name]
        if old_status == ConversationStatus.RESOLVED:
            _start_missing(conversation, policies, at)
    _save(conversation, at, save=save)


def sla_on_attributes_changed(*, conversation: Conversation, at: datetime) -> None:
    """Priority, team, labels or channel changed: re-evaluate the policy, recompute deadlines."""
    policies = load_policies()
    if not policies and conversation.sla_policy_id is None:
        return
    policy = policies.for_conversation(conversation)
    if (policy.pk if policy else None) == conversation.sla_policy_id:
        return
    _move_to_policy(conversation, policies, policy, at)
    _save(conversation, at)


def sla_on_rules_changed(*, conversation: Conversation, policies: PolicySet, at: datetime) -> bool:
    """SLA rules or the default policy were edited: re-evaluate which policy applies and, when
    another one does, move the conversation to it exactly as `sla_on_attributes_changed` does
    (time already charged carried over). A conversation whose policy was deleted (its running
    targets left behind) and that now matches none loses those targets. Does not save; the
    caller holds the row lock. Idempotent: returns whether anything changed."""
    if conversation.status == ConversationStatus.RESOLVED:
        return False
    policy = policies.for_conversation(conversation)
    if (policy.pk if policy else None) == conversation.sla_policy_id and (
        policy is not None or not clock.entries(conversation)
    ):
        return False
    _move_to_policy(conversation, policies, policy, at)
    clock.sync_fields(conversation, at=at)
    return True


def _move_to_policy(
    conversation: Conversation, policies: PolicySet, policy: SLAPolicy | None, at: datetime
) -> None:
    """Switch to `policy`: running targets it also sets keep their cycle and the time charged
    so far (in the old policy's time mode), rescheduled under its targets; the others stop."""
    old_targets = policies.targets(policies.by_id.get(conversation.sla_policy_id))
    conversation.sla_policy = policy
    new_targets = policies.targets(policy)
    running = clock.entries(conversation)
    for name, entry in list(running.items()):
        spec = new_targets.get(name)
        if spec is None:
            del running[name]
            continue
        if entry.get("since") is not None:
            # Carry the time charged so far (in the old policy's time mode) into the new one.
            entry["charged"] = clock.elapsed(entry, old_targets.get(name), at).total_seconds()
            entry["since"] = at.isoformat()
        clock.schedule(entry, spec)
    if policy is not None:
        _start_missing(conversation, policies, at)


def sla_on_policy_settings_changed(
    *, conversation: Conversation, policies: PolicySet, at: datetime
) -> bool:
    """The conversation's policy or its calendar was edited: recompute every running deadline
    from the clock's last start and the time charged before it, under the new settings (as if
    they had applied since); drop targets the policy no longer sets and start the ones it now
    sets. Recorded warnings and breaches stay recorded. Idempotent: returns whether anything
    changed (a second call with the same settings returns False)."""
    if conversation.status == ConversationStatus.RESOLVED:
        return False
    before = _snapshot(conversation)
    targets = policies.targets(policies.by_id.get(conversation.sla_policy_id))
    running = clock.entries(conversation)
    for name, entry in list(running.items()):
        spec = targets.get(name)
        if spec is None:
            del running[name]
        else:
            clock.schedule(entry, spec)
    _start_missing(conversation, policies, at)
    clock.sync_fields(conversation, at=at)
    return _snapshot(conversation) != before


def _snapshot(conversation: Conversation) -> list[object]:
    return [
        copy.deepcopy(getattr(conversation, "sla_policy_id" if f == "sla_policy" else f))
        for f in clock.SLA_FIELDS
    ]
