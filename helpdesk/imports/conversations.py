"""The conversation and message records of a chunk, checked and planned (nothing written).

A conversation whose reference was imported before is skipped; so is a message whose
reference its conversation already holds (`Message.client_id`) or whose provider id its
channel already holds (`Message.external_id`, unique per channel: e.g. a message Relay
received live before the import). A record that names a refused or unknown record is refused
with the reason, so one bad customer line reports each line that depended on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from helpdesk.conversations.models import Conversation, Message
from helpdesk.customers.models import Customer
from helpdesk.imports.customers import CustomerPlan
from helpdesk.imports.models import ImportedConversation
from helpdesk.imports.records import ConversationRecord, MessageRecord, RecordError
from helpdesk.imports.state import ChunkReport, DryConversation, ImportRun


@dataclass
class NewConversation:
    conversation: Conversation
    record: ConversationRecord
    customer: Customer | None  # made or linked in this chunk (its id may not be known yet)
    label_ids: list[int]


@dataclass(frozen=True)
class StoredConversation:
    """A conversation imported before this chunk (by an earlier chunk or an earlier run)."""

    id: int
    channel_id: int


@dataclass
class ConversationPlan:
    new: dict[str, NewConversation] = field(default_factory=dict)
    stored: dict[str, StoredConversation] = field(default_factory=dict)


@dataclass
class NewMessage:
    record: MessageRecord
    target: NewConversation | StoredConversation
    channel_id: int
    sender_id: int | None


def plan_conversations(
    *,
    records: Sequence[ConversationRecord],
    referenced: set[str],
    customers: CustomerPlan,
    run: ImportRun,
    report: ChunkReport,
) -> ConversationPlan:
    plan = ConversationPlan()
    unique: dict[str, ConversationRecord] = {}
    for record in records:
        if record.ref in unique:
            first = unique[record.ref].line
            report.refuse(
                "conversations",
                record,
                _('conversation_ref "%(ref)s" already appears on line %(line)s.')
                % {"ref": record.ref, "line": first},
            )
        else:
            unique[record.ref] = record
    this_run = set(run.dry_conversations)
    for ref, conversation_id, channel_id, imported_at in ImportedConversation.objects.filter(
        ref__in=[*unique, *referenced]
    ).values_list("ref", "conversation_id", "conversation__channel_id", "imported_at"):
        plan.stored[ref] = StoredConversation(id=conversation_id, channel_id=channel_id)
        if imported_at >= run.started_at:
            this_run.add(ref)
    for record in unique.values():
        if record.ref in this_run:
            report.refuse(
                "conversations",
                record,
                _('conversation_ref "%(ref)s" already appears earlier in this file.')
                % {"ref": record.ref},
            )
            continue
        if record.ref in plan.stored:
            report.count("conversations", "skipped")
            continue
        try:
            plan.new[record.ref] = _new(record, customers, run, report)
        except RecordError as exc:
            report.refuse("conversations", record, exc.message)
            report.refused_conversations[record.ref] = record.line
            continue
        report.count("conversations", "created")
        if run.dry_run:
            channel_id = plan.new[record.ref].conversation.channel_id
            report.dry_conversations[record.ref] = DryConversation(channel_id=channel_id)
    return plan


def _new(
    record: ConversationRecord, customers: CustomerPlan, run: ImportRun, report: ChunkReport
) -> NewConversation:
    ref = record.customer_ref
    customer = customers.by_ref.get(ref)
    customer_id = customers.known.get(ref)
    if customer is None and customer_id is None and ref not in run.dry_customers:
        refused = report.refused_customers.get(ref) or run.refused_customers.get(ref)
        if refused is not None:
            raise RecordError(
                _('Its customer_ref "%(ref)s" was refused (line %(line)s).')
                % {"ref": record.customer_ref, "line": refused}
            )
        raise RecordError(
            _('customer_ref "%(ref)s" is unknown: it must be on an earlier line or imported '
              "before.") % {"ref": record.customer_ref}
        )
    lookups = run.lookups
    channel = lookups.channel(record.channel)
    conversation = Conversation(
        customer_id=customer_id,
        channel=channel,
        status=record.status,
        priority=record.priority,
        assignee_id=lookups.user(record.assignee, field="assignee"),
        team_id=lookups.team(record.team),
        subject=record.subject,
        custom_attributes=record.attributes,
        snoozed_until=record.snoozed_until,
        created_at=record.created_at,
        last_activity_at=record.created_at,
        resolved_at=record.resolved_at,
    )
    return NewConversation(
        conversation=conversation,
        record=record,
        customer=customer,
        label_ids=lookups.label_ids(record.labels),
    )


def plan_messages(
    *,
    records: Sequence[MessageRecord],
    conversations: ConversationPlan,
    run: ImportRun,
    report: ChunkReport,
) -> list[NewMessage]:
    """The messages to create, in line order."""
    targets: list[tuple[MessageRecord, NewConversation | StoredConversation]] = []
    for record in records:
        try:
            targets.append((record, _target(record, conversations, run, report)))
        except RecordError as exc:
            report.refuse("messages", record, exc.message)
    stored_refs = _stored_refs(targets)
    stored_provider_ids = _stored_provider_ids(targets)
    seen_refs: dict[tuple[str, str], int] = {}  # (conversation ref, message ref) -> line
    seen_provider_ids: dict[tuple[int, str], int] = {}
    planned = []
    for record, target in targets:
        channel_id = target.channel_id if isinstance(target, StoredConversation) else (
            target.conversation.channel_id
        )
        ref_key = (record.conversation_ref, record.ref)
        provider_key = (channel_id, record.provider_id or "")
        if isinstance(target, StoredConversation) and (target.id, record.client_id) in stored_refs:
            report.count("messages", "skipped")
            continue
        if record.provider_id and provider_key in stored_provider_ids:
            report.count("messages", "skipped")
            continue
        try:
            if ref_key in seen_refs:
                raise RecordError(
                    _('message_ref "%(ref)s" already appears in this conversation on line '
                      "%(line)s.") % {"ref": record.ref, "line": seen_refs[ref_key]}
                )
            if record.provider_id and provider_key in seen_provider_ids:
                raise RecordError(
                    _('Its provider_id is already used on this channel by line %(line)s.')
                    % {"line": seen_provider_ids[provider_key]}
                )
            sender_id = run.lookups.user(record.sender, field="sender")
        except RecordError as exc:
            report.refuse("messages", record, exc.message)
            continue
        seen_refs[ref_key] = record.line
        if record.provider_id:
            seen_provider_ids[provider_key] = record.line
        planned.append(
            NewMessage(record=record, target=target, channel_id=channel_id, sender_id=sender_id)
        )
        report.count("messages", "created")
    return planned


def _target(
    record: MessageRecord, conversations: ConversationPlan, run: ImportRun, report: ChunkReport
) -> NewConversation | StoredConversation:
    ref = record.conversation_ref
    target = conversations.new.get(ref) or conversations.stored.get(ref)
    if target is not None:
        return target
    if ref in run.dry_conversations:
        # A dry run's conversation from an earlier chunk; a stand-in carries its channel.
        return StoredConversation(id=0, channel_id=run.dry_conversations[ref].channel_id)
    refused = report.refused_conversations.get(ref) or run.refused_conversations.get(ref)
    if refused is not None:
        raise RecordError(
            _('Its conversation_ref "%(ref)s" was refused (line %(line)s).')
            % {"ref": ref, "line": refused}
        )
    raise RecordError(
        _('conversation_ref "%(ref)s" is unknown: it must be on an earlier line or imported '
          "before.") % {"ref": ref}
    )


def _stored_refs(
    targets: list[tuple[MessageRecord, NewConversation | StoredConversation]],
) -> set[tuple[int, str]]:
    """(conversation id, client id) of the chunk's messages that stored conversations hold."""
    wanted = [(t.id, r.client_id) for r, t in targets if isinstance(t, StoredConversation)]
    if not wanted:
        return set()
    return set(
        Message.objects.filter(
            conversation_id__in={c for c, _ in wanted}, client_id__in={k for _, k in wanted}
        )
        .order_by()  # messages sort by id by default; a set needs no order
        .values_list("conversation_id", "client_id")
    )


def _stored_provider_ids(
    targets: list[tuple[MessageRecord, NewConversation | StoredConversation]],
) -> set[tuple[int, str]]:
    """(channel id, provider id) of the chunk's provider ids that their channel holds."""
    wanted: dict[int, set[str]] = {}
    for record, target in targets:
        if record.provider_id:
            channel_id = target.channel_id if isinstance(target, StoredConversation) else (
                target.conversation.channel_id
            )
            wanted.setdefault(channel_id, set()).add(record.provider_id)
    found: set[tuple[int, str]] = set()
    for channel_id, provider_ids in wanted.items():
        found.update(
            Message.objects.filter(channel_id=channel_id, external_id__in=provider_ids)
            .order_by()
            .values_list("channel_id", "external_id")
        )
    return found
