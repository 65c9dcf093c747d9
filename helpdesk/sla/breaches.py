"""Recording passed SLA warnings and deadlines: the breach job's selector and service."""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet

from helpdesk.agents.models import Team
from helpdesk.conversations.models import Conversation
from helpdesk.core.errors import DomainError
from helpdesk.core.realtime import broadcast_on_commit, inbox_group
from helpdesk.notifications.models import NotificationKind
from helpdesk.notifications.services import notification_create
from helpdesk.sla import clock
from helpdesk.sla.models import SLAEventKind, SLAPolicy
from helpdesk.sla.policies import PolicySet, load_policies
from helpdesk.sla.records import sla_event_record

logger = logging.getLogger(__name__)


def due_conversations(*, now: datetime) -> QuerySet[Conversation]:
    """Conversations with a warning or a deadline that has passed and is not yet recorded.

    Served by the partial indexes `conv_sla_warn` and `conv_sla_unrecorded` (a BitmapOr on
    PostgreSQL); the rows are few because recorded items are advanced past."""
    return Conversation.objects.filter(Q(sla_warn_at__lte=now) | Q(sla_unrecorded_due_at__lte=now))


@dataclass(frozen=True)
class Alert:
    target: str
    cycle: int
    kind: str
    due_at: datetime | None


@dataclass
class Recipients:
    """Who hears about warnings and breaches besides the inbox: loaded once per run/batch."""

    managers: list[int] = field(default_factory=list)
    team_members: dict[int, list[int]] = field(default_factory=dict)
    loaded_teams: set[int] = field(default_factory=set)

    @classmethod
    def for_managers(cls) -> Recipients:
        managers = get_user_model().objects.filter(
            is_active=True, is_staff=True, agent_profile__isnull=False
        )
        return cls(managers=sorted(managers.values_list("pk", flat=True)))

    def load_teams(self, team_ids: set[int]) -> None:
        """Load the members of the teams not loaded yet (one query, none when all are)."""
        missing = {t for t in team_ids if t is not None} - self.loaded_teams
        if not missing:
            return
        members: dict[int, list[int]] = defaultdict(list)
        rows = Team.members.through.objects.filter(team_id__in=missing).values_list(
            "team_id", "user_id"
        )
        for team_id, user_id in rows:
            members[team_id].append(user_id)
        self.team_members.update(members)
        self.loaded_teams |= missing


def collect_alerts(conversation: Conversation, *, now: datetime) -> list[Alert]:
    """Mark each passed warning and deadline in the clock state and return them. A deadline
    that passed before its warning was sent is only a breach."""
    alerts = []
    for name, entry in clock.entries(conversation).items():
        due = clock.parse_time(entry.get("due"))
        warn = clock.parse_time(entry.get("warn"))
        if not entry.get("breached") and due is not None and due <= now:
            entry["breached"] = entry["warned"] = True
            alerts.append(Alert(name, entry["cycle"], str(SLAEventKind.BREACHED), due))
        elif not entry.get("warned") and warn is not None and warn <= now:
            entry["warned"] = True
            alerts.append(Alert(name, entry["cycle"], str(SLAEventKind.WARNING), due))
    return alerts


def _notify(conversation: Conversation, alert: Alert, recipients: Recipients) -> None:
    event = {
        "type": f"sla.{alert.kind}",
        "conversation_id": conversation.pk,
        "channel_id": conversation.channel_id,
        "target": alert.target,
        "cycle": alert.cycle,
        "due_at": alert.due_at.isoformat() if alert.due_at else None,
    }
    broadcast_on_commit(inbox_group(conversation.channel_id), event)
    users = {conversation.assignee_id}
    if alert.kind == SLAEventKind.BREACHED or conversation.assignee_id is None:
        users.update(recipients.team_members.get(conversation.team_id, ()))
    if alert.kind == SLAEventKind.BREACHED:
        users.update(recipients.managers)
    # Stored, so an agent who is offline finds it later; once per alert (the key), so a job
    # that runs twice notifies once. `notification.created` reaches each agent live.
    notification_create(
        recipient_ids=users,
        kind=(
            NotificationKind.SLA_BREACHED
            if alert.kind == SLAEventKind.BREACHED
            else NotificationKind.SLA_WARNING
        ),
        key=f"sla:{conversation.pk}:{alert.target}:{alert.cycle}:{alert.kind}",
        conversation=conversation,
        data={"target": alert.target, "due_at": event["due_at"]},
    )


def _escalate(conversation_id: int, policy: SLAPolicy) -> None:
    """Apply the policy's escalation through the conversation services (they lock, record
    activity, re-evaluate SLA timers and broadcast)."""
    from helpdesk.conversations.services import (
        conversation_assign,
        conversation_set_priority,
        conversation_set_team,
    )

    conversation = Conversation.objects.get(pk=conversation_id)
    try:
        if (
            policy.escalate_priority is not None
            and conversation.priority < policy.escalate_priority
        ):
            conversation = conversation_set_priority(
                conversation=conversation, priority=policy.escalate_priority, by=None
            )
        if policy.escalate_team is not None:
            conversation = conversation_set_team(
                conversation=conversation, team=policy.escalate_team, by=None
            )
        if policy.escalate_assignee is not None:
            conversation_assign(
                conversation=conversation, assignee=policy.escalate_assignee, by=None
            )
    except DomainError as exc:  # e.g. the escalation user is no longer an active agent
        logger.warning("sla escalation refused conversation=%s code=%s", conversation_id, exc.code)


def _process_one(
    conversation: Conversation, *, now: datetime, recipients: Recipients
) -> tuple[int, bool]:
    alerts = collect_alerts(conversation, now=now)
    stale = any(
        value is not None and value <= now
        for value in (conversation.sla_unrecorded_due_at, conversation.sla_warn_at)
    )
    if not alerts and not stale:
        return 0, False  # another worker got here first
    clock.sync_fields(conversation, at=now)
    conversation.save(update_fields=clock.SLA_FIELDS)
    recorded = 0
    breached = False
    for alert in alerts:
        if sla_event_record(
            conversation=conversation,
            target=alert.target,
            cycle=alert.cycle,
            kind=alert.kind,
            due_at=alert.due_at,
            at=now,
        ):
            recorded += 1
            breached = breached or alert.kind == SLAEventKind.BREACHED
            _notify(conversation, alert, recipients)
    return recorded, breached


def sla_process_due(
    *,
    conversation_ids: list[int],
    now: datetime,
    recipients: Recipients,
    policies: PolicySet | None = None,
) -> int:
    """Record every passed warning and deadline of these conversations exactly once, advance
    `sla_warn_at`/`sla_unrecorded_due_at` to the next pending item, notify (after commit) and
    escalate breaches.

    One short transaction per conversation (lock the row, record, escalate, commit), so another
    writer waits for at most one conversation's work, never for a batch (on SQLite every
    transaction takes the database's write lock). A row another worker holds is skipped (it
    records it); one broken row does not stop the others. Running it twice changes nothing.
    Returns the number of events recorded."""
    policies = policies if policies is not None else load_policies()
    teams = Conversation.objects.filter(pk__in=conversation_ids, team__isnull=False)
    recipients.load_teams(set(teams.values_list("team_id", flat=True)))
    recorded = 0
    for conversation_id in sorted(conversation_ids):
        try:
            recorded += _process_locked(
                conversation_id, now=now, recipients=recipients, policies=policies
            )
        except Exception:  # one broken row must not stop the others
            logger.exception("sla check failed conversation=%s", conversation_id)
    return recorded


@transaction.atomic
def _process_locked(
    conversation_id: int, *, now: datetime, recipients: Recipients, policies: PolicySet
) -> int:
    conversation = (
        Conversation.objects.select_for_update(skip_locked=True).filter(pk=conversation_id).first()
    )
    if conversation is None:
        return 0  # another worker holds it (and records it), or it is gone
    if conversation.team_id is not None:
        recipients.load_teams({conversation.team_id})  # moved to a team since the batch read
    count, breached = _process_one(conversation, now=now, recipients=recipients)
    policy = policies.by_id.get(conversation.sla_policy_id)
    if breached and policy is not None:
        try:
            with transaction.atomic():
                _escalate(conversation.pk, policy)
        except Exception:  # the breach stays recorded even if its escalation fails
            logger.exception("sla escalation failed conversation=%s", conversation.pk)
    return count
