"""Conversation state: assignment, status, priority, team and labels. Each change locks the row,
records an activity line, re-evaluates SLA timers where rules depend on it, and broadcasts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.agents.models import Team
from helpdesk.conversations.events import broadcast_conversation
from helpdesk.conversations.models import (
    Conversation,
    ConversationStatus,
    Label,
    Priority,
    check_status_transition,
)
from helpdesk.conversations.services.activity import activity_record, display_name
from helpdesk.core.errors import DomainError
from helpdesk.notifications.models import NotificationKind
from helpdesk.notifications.services import notification_create
from helpdesk.sla import timers

User = get_user_model()


def _locked(conversation: Conversation) -> Conversation:
    return Conversation.objects.select_for_update().get(pk=conversation.pk)


def check_can_be_assigned(user: AbstractBaseUser) -> None:
    if not user.is_active or not hasattr(user, "agent_profile"):
        raise DomainError(_("Only active agents can be assigned."), code="not_an_agent")


def _apply_assignee(
    conversation: Conversation, assignee: AbstractBaseUser | None, by: AbstractBaseUser | None
) -> None:
    conversation.assignee = assignee
    conversation.save(update_fields=["assignee", "updated_at"])
    if assignee is None:
        activity_record(
            conversation=conversation,
            event="unassigned",
            text=f"Unassigned by {display_name(by)}",
            by=by,
        )
        return
    activity = activity_record(
        conversation=conversation,
        event="assigned",
        text=f"Assigned to {display_name(assignee)} by {display_name(by)}",
        by=by,
        assignee_id=assignee.pk,
        assignee_name=display_name(assignee),
    )
    if by is None or by.pk != assignee.pk:
        notification_create(
            recipient_ids=[assignee.pk],
            kind=NotificationKind.ASSIGNED,
            key=f"assigned:{activity.pk}",
            conversation=conversation,
            data={"by": display_name(by) if by is not None else ""},
        )


@transaction.atomic
def conversation_assign(
    *,
    conversation: Conversation,
    assignee: AbstractBaseUser | None,
    by: AbstractBaseUser | None,
) -> Conversation:
    """Assign (or with `assignee=None` unassign). A no-op when nothing changes. Notifies the new
    assignee unless they assigned themselves."""
    conversation = _locked(conversation)
    if assignee is not None:
        check_can_be_assigned(assignee)
    if conversation.assignee_id == (assignee.pk if assignee else None):
        return conversation
    _apply_assignee(conversation, assignee, by)
    broadcast_conversation(conversation, "conversation.updated")
    return conversation


def assign_on_reply(*, conversation: Conversation, agent: AbstractBaseUser) -> None:
    """Inside a reply: an unassigned conversation goes to the agent who answered it."""
    if conversation.assignee_id is None and hasattr(agent, "agent_profile"):
        _apply_assignee(conversation, agent, agent)


@transaction.atomic
def conversation_change_status(
    *,
    conversation: Conversation,
    status: str,
    by: AbstractBaseUser | None,
    snoozed_until: datetime | None = None,
) -> Conversation:
    """Move along the status table (an illegal move raises IllegalTransition). Snoozing needs a
    time in the future. The same status again is a no-op, except a new snooze time."""
    conversation = _locked(conversation)
    old = conversation.status
    now = timezone.now()
    if status == ConversationStatus.SNOOZED and (snoozed_until is None or snoozed_until <= now):
        raise DomainError(_("Choose a snooze time in the future."), code="snooze_time")
    if old == status and status != ConversationStatus.SNOOZED:
        return conversation
    if old != status:
        check_status_transition(old, status)
    conversation.status = status
    conversation.snoozed_until = snoozed_until if status == ConversationStatus.SNOOZED else None
    if status == ConversationStatus.RESOLVED:
        conversation.resolved_at = now
        # Resolved is answered: nobody waits any more. A new customer message starts a new wait.
        conversation.waiting_since = None
    elif old == ConversationStatus.RESOLVED:
        conversation.resolved_at = None
    conversation.save()
    details = {"old_status": old, "new_status": status}
    if snoozed_until is not None and status == ConversationStatus.SNOOZED:
        details["snoozed_until"] = snoozed_until.isoformat()
    activity_record(
        conversation=conversation,
        event="status_changed",
        text=f"Status changed from {old} to {status} by {display_name(by)}",
        by=by,
        **details,
    )
    timers.sla_on_status_changed(
        conversation=conversation, old_status=old, new_status=status, at=now
    )
    broadcast_conversation(conversation, "conversation.updated")
    return conversation


@transaction.atomic
def conversation_set_priority(
    *, conversation: Conversation, priority: int, by: AbstractBaseUser | None
) -> Conversation:
    if priority not in Priority.values:
        raise DomainError(_("Unknown priority."), code="priority")
    conversation = _locked(conversation)
    if conversation.priority == priority:
        return conversation
    old = conversation.priority
    conversation.priority = priority
    conversation.save(update_fields=["priority", "updated_at"])
    activity_record(
        conversation=conversation,
        event="priority_changed",
        text=f"Priority changed from {Priority(old).label} to {Priority(priority).label}",
        by=by,
        old_priority=old,
        new_priority=priority,
    )
    timers.sla_on_attributes_changed(conversation=conversation, at=timezone.now())
    broadcast_conversation(conversation, "conversation.updated")
    return conversation


@transaction.atomic
def conversation_set_team(
    *, conversation: Conversation, team: Team | None, by: AbstractBaseUser | None
) -> Conversation:
    conversation = _locked(conversation)
    if conversation.team_id == (team.pk if team else None):
        return conversation
    conversation.team = team
    conversation.save(update_fields=["team", "updated_at"])
    activity_record(
        conversation=conversation,
        event="team_changed",
        text=f"Team set to {team.name if team else '—'} by {display_name(by)}",
        by=by,
        team_id=team.pk if team else None,
        team_name=team.name if team else "",
    )
    timers.sla_on_attributes_changed(conversation=conversation, at=timezone.now())
    broadcast_conversation(conversation, "conversation.updated")
    return conversation


@transaction.atomic
def conversation_set_labels(
    *, conversation: Conversation, labels: Iterable[Label], by: AbstractBaseUser | None
) -> Conversation:
    """Replace the label set; records what was added and removed."""
    conversation = _locked(conversation)
    wanted = {label.pk: label for label in labels}
    current = {label.pk: label for label in conversation.labels.all()}
    added = [wanted[pk] for pk in wanted.keys() - current.keys()]
    removed = [current[pk] for pk in current.keys() - wanted.keys()]
    if not added and not removed:
        return conversation
    conversation.labels.set(wanted.values())
    activity_record(
        conversation=conversation,
        event="labels_changed",
        text="Labels changed: "
        + ", ".join([f"+{x.name}" for x in added] + [f"-{x.name}" for x in removed]),
        by=by,
        added=sorted(x.name for x in added),
        removed=sorted(x.name for x in removed),
    )
    timers.sla_on_attributes_changed(conversation=conversation, at=timezone.now())
    broadcast_conversation(conversation, "conversation.updated")
    return conversation


@transaction.atomic
def conversation_add_label(
    *, conversation: Conversation, label: Label, by: AbstractBaseUser | None
) -> Conversation:
    """Add one label, keeping the others (read under the row lock, so two agents adding
    labels at once both keep theirs)."""
    conversation = _locked(conversation)
    labels = list(conversation.labels.all())
    if label in labels:
        return conversation
    return conversation_set_labels(conversation=conversation, labels=[*labels, label], by=by)


@transaction.atomic
def conversation_remove_label(
    *, conversation: Conversation, label: Label, by: AbstractBaseUser | None
) -> Conversation:
    """Remove one label, keeping the others (read under the row lock)."""
    conversation = _locked(conversation)
    labels = list(conversation.labels.all())
    if label not in labels:
        return conversation
    return conversation_set_labels(
        conversation=conversation, labels=[x for x in labels if x != label], by=by
    )


def conversations_wake_snoozed(*, now: datetime | None = None) -> int:
    """Reopen snoozed conversations whose time has come. Safe to run twice or concurrently."""
    now = now or timezone.now()
    ids = list(
        Conversation.objects.filter(status=ConversationStatus.SNOOZED, snoozed_until__lte=now)
        .order_by("pk")
        .values_list("pk", flat=True)[:1000]
    )
    woken = 0
    for pk in ids:
        with transaction.atomic():
            conversation = Conversation.objects.select_for_update().get(pk=pk)
            if conversation.status != ConversationStatus.SNOOZED:
                continue  # someone else woke it
            conversation.status = ConversationStatus.OPEN
            conversation.snoozed_until = None
            conversation.last_activity_at = now
            conversation.save()
            activity_record(
                conversation=conversation,
                event="snooze_ended",
                text="Snooze ended",
                old_status="snoozed",
                new_status="open",
            )
            timers.sla_on_status_changed(
                conversation=conversation, old_status="snoozed", new_status="open", at=now
            )
            broadcast_conversation(conversation, "conversation.updated")
            woken += 1
    return woken
