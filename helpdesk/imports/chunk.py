"""One chunk of an import file: planned in memory, then each table written once.

Inside the caller's transaction. Customers, conversations and messages get their ids first
(`RowWriter.allocate_ids`), so every row is complete before it is written: conversations carry
their derived fields (`derived.derive`) and, when not resolved, SLA deadlines from the SLA
code itself (`timers.sla_on_conversation_created`, policies loaded once per chunk). Only
conversations imported before the chunk that receive messages in it are updated afterwards
(one UPDATE on PostgreSQL). Messages are inserted in time order, so a thread reads in order.

Events: `conversation.created` for each imported conversation that is not resolved (the inbox
shows it), nothing for history. Open conversations start their SLA clocks when the import
started: the previous helpdesk's promises are not Relay's, and clocks started in the past
would record breaches, and notify managers, for time before Relay had the conversation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from helpdesk.conversations.events import conversation_facts
from helpdesk.conversations.models import Conversation, ConversationStatus, Label, Message
from helpdesk.core.db import update_rows
from helpdesk.core.realtime import broadcast_many_on_commit, inbox_group
from helpdesk.customers.models import ContactIdentity, Customer
from helpdesk.imports import derived
from helpdesk.imports.conversations import (
    ConversationPlan,
    NewConversation,
    NewMessage,
    StoredConversation,
    plan_conversations,
    plan_messages,
)
from helpdesk.imports.customers import CustomerPlan, plan_customers
from helpdesk.imports.models import ImportedConversation, ImportedCustomer
from helpdesk.imports.records import ConversationRecord, CustomerRecord, MessageRecord, Record
from helpdesk.imports.state import ChunkReport, ImportRun
from helpdesk.imports.writers import RowWriter
from helpdesk.sla import clock, timers
from helpdesk.sla.policies import PolicySet, load_policies

CUSTOMER_FIELDS = [f.attname for f in Customer._meta.concrete_fields]
CONVERSATION_FIELDS = [f.attname for f in Conversation._meta.concrete_fields]
MESSAGE_FIELDS = [
    "id",
    "conversation_id",
    "channel_id",
    "direction",
    "kind",
    "sender_type",
    "sender_user_id",
    "text",
    "content_attributes",
    "external_id",
    "client_id",
    "delivery_status",
    "error_code",
    "error_message",
    "status_updated_at",
    "created_at",
]  # search_document: built by the database (a trigger) on PostgreSQL
STORED_FIELDS = [*derived.FIELDS, *clock.SLA_FIELDS, "updated_at"]


def import_chunk(*, records: Sequence[Record], run: ImportRun, writer: RowWriter) -> ChunkReport:
    """Plan the chunk's records and, unless this is a dry run, write them."""
    report = ChunkReport()
    customer_records = [r for r in records if isinstance(r, CustomerRecord)]
    conversation_records = [r for r in records if isinstance(r, ConversationRecord)]
    message_records = [r for r in records if isinstance(r, MessageRecord)]
    run.lookups.prepare(records)
    customers = plan_customers(
        records=customer_records,
        referenced={r.customer_ref for r in conversation_records},
        run=run,
        report=report,
    )
    conversations = plan_conversations(
        records=conversation_records,
        referenced={r.conversation_ref for r in message_records},
        customers=customers,
        run=run,
        report=report,
    )
    messages = plan_messages(
        records=message_records, conversations=conversations, run=run, report=report
    )
    if not run.dry_run:
        _write(customers, conversations, messages, run, writer)
    return report


def _write(
    customers: CustomerPlan,
    conversations: ConversationPlan,
    messages: list[NewMessage],
    run: ImportRun,
    writer: RowWriter,
) -> None:
    now = timezone.now()
    _give_ids(customers, conversations, writer)
    messages.sort(key=lambda m: (m.record.created_at, m.record.line))
    message_rows, facts = _message_rows(messages, writer)
    policies = load_policies()
    new = list(conversations.new.values())
    _complete(new, customers, facts, policies, run, now)
    stored = _refresh_stored(
        {m.target.id for m in messages if isinstance(m.target, StoredConversation)},
        facts,
        policies,
        run,
    )

    for customer in customers.new:
        customer.created_at = customer.updated_at = now
    writer.insert(
        Customer,
        CUSTOMER_FIELDS,
        [[getattr(c, name) for name in CUSTOMER_FIELDS] for c in customers.new],
    )
    writer.insert(
        ContactIdentity,
        ["customer_id", "kind", "address", "verified", "created_at"],
        [(c.pk, i.kind, i.address, i.verified, now) for c, i in customers.identities],
    )
    writer.insert(
        ImportedCustomer,
        ["ref", "customer_id", "imported_at"],
        [(ref, customer.pk, now) for ref, customer in customers.refs],
    )
    update_rows(list(customers.filled.values()), ["name", "locale", "time_zone", "updated_at"])
    writer.insert(
        Conversation,
        CONVERSATION_FIELDS,
        [[getattr(e.conversation, name) for name in CONVERSATION_FIELDS] for e in new],
    )
    writer.insert(
        Conversation.labels.through,
        ["conversation_id", "label_id"],
        [(e.conversation.pk, label_id) for e in new for label_id in e.label_ids],
    )
    writer.insert(
        ImportedConversation,
        ["ref", "conversation_id", "imported_at"],
        [(ref, e.conversation.pk, now) for ref, e in conversations.new.items()],
    )
    writer.insert(Message, MESSAGE_FIELDS, message_rows)
    update_rows(stored, STORED_FIELDS)
    broadcast_many_on_commit(
        [
            (
                inbox_group(c.channel_id),
                {"type": "conversation.created", **conversation_facts(c)},
            )
            for c in (e.conversation for e in new)
            if c.status != ConversationStatus.RESOLVED
        ]
    )
    if connection.vendor == "postgresql":
        # Foreign keys are checked at commit; check them now, inside the chunk's error handling.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def _give_ids(customers: CustomerPlan, conversations: ConversationPlan, writer: RowWriter) -> None:
    for customer, pk in zip(
        customers.new, writer.allocate_ids(Customer, len(customers.new)), strict=True
    ):
        customer.pk = pk
    new = list(conversations.new.values())
    for entry, pk in zip(new, writer.allocate_ids(Conversation, len(new)), strict=True):
        entry.conversation.pk = pk
        if entry.customer is not None:
            entry.conversation.customer = entry.customer


def _message_rows(
    messages: list[NewMessage], writer: RowWriter
) -> tuple[list[tuple[Any, ...]], dict[int, list[derived.MessageFact]]]:
    rows = []
    facts: dict[int, list[derived.MessageFact]] = defaultdict(list)
    empty: dict[str, Any] = {}
    ids = writer.allocate_ids(Message, len(messages))
    for message, pk in zip(messages, ids, strict=True):
        record = message.record
        target = message.target
        conversation_id = (
            target.id if isinstance(target, StoredConversation) else target.conversation.pk
        )
        rows.append(
            (
                pk,
                conversation_id,
                message.channel_id,
                record.direction,
                record.kind,
                record.sender_type,
                message.sender_id,
                record.text,
                empty,
                record.provider_id,
                record.client_id,
                record.delivery_status,
                "",
                "",
                record.created_at if record.delivery_status else None,
                record.created_at,
            )
        )
        facts[conversation_id].append(
            derived.MessageFact(
                id=pk,
                at=record.created_at,
                direction=record.direction,
                kind=record.kind,
                sender_type=record.sender_type,
            )
        )
    return rows, facts


def _complete(
    new: list[NewConversation],
    customers: CustomerPlan,
    facts: dict[int, list[derived.MessageFact]],
    policies: PolicySet,
    run: ImportRun,
    now: datetime,
) -> None:
    """Derived fields of the new conversations; SLA deadlines of those not resolved."""
    wanted = {
        e.conversation.customer_id
        for e in new
        if e.customer is None and e.conversation.status != ConversationStatus.RESOLVED
    }
    stored_customers = Customer.objects.in_bulk(wanted) if policies and wanted else {}
    for entry in new:
        conversation = entry.conversation
        derived.apply(
            conversation,
            derived.derive(
                created_at=conversation.created_at,
                status=conversation.status,
                resolved_at=entry.record.resolved_at,
                messages=facts.get(conversation.pk, ()),
            ),
        )
        conversation.updated_at = now
        if conversation.status != ConversationStatus.RESOLVED and policies:
            if entry.customer is None:
                conversation.customer = stored_customers[conversation.customer_id]
            _known_labels(conversation, entry.label_ids)
            _start_sla(conversation, policies, run.started_at)


def _refresh_stored(
    ids: set[int],
    facts: dict[int, list[derived.MessageFact]],
    policies: PolicySet,
    run: ImportRun,
) -> list[Conversation]:
    """Conversations imported before this chunk that get messages in it: locked, their
    derived fields recomputed from all their messages; those this run imported (an earlier
    chunk) start their SLA clocks again from the complete history."""
    if not ids:
        return []
    rows = list(
        Conversation.objects.select_for_update(of=("self",))
        .filter(pk__in=ids)
        .select_related("customer")
        .prefetch_related("labels")
        .order_by("pk")
    )
    history: dict[int, list[derived.MessageFact]] = defaultdict(list)
    stored_messages = (
        Message.objects.filter(conversation_id__in=ids)
        .order_by()  # `derive` orders them
        .values_list("conversation_id", "id", "created_at", "direction", "kind", "sender_type")
    )
    for conversation_id, *fact in stored_messages:
        history[conversation_id].append(derived.MessageFact(*fact))
    this_run = set(
        ImportedConversation.objects.filter(
            conversation_id__in=ids, imported_at__gte=run.started_at
        ).values_list("conversation_id", flat=True)
    )
    for conversation in rows:
        derived.apply(
            conversation,
            derived.derive(
                created_at=conversation.created_at,
                status=conversation.status,
                resolved_at=conversation.resolved_at,
                messages=[*history[conversation.pk], *facts[conversation.pk]],
            ),
        )
        if conversation.pk in this_run:
            _start_sla(conversation, policies, run.started_at)
    return rows


def _start_sla(conversation: Conversation, policies: PolicySet, at: datetime) -> None:
    """The SLA clocks of an imported conversation, from nothing, as if it was created at `at`."""
    conversation.sla_state = {}
    conversation.sla_policy = None
    conversation.sla_paused_at = None
    clock.sync_fields(conversation, at=at)
    if conversation.status != ConversationStatus.RESOLVED:
        timers.sla_on_conversation_created(
            conversation=conversation, at=at, policies=policies, save=False
        )


def _known_labels(conversation: Conversation, label_ids: list[int]) -> None:
    """Hand SLA rules the labels of a conversation not written yet, as a prefetch would
    (Django's `prefetch_related` fills the same cache), so they read no rows."""
    queryset = Label.objects.none()
    queryset._result_cache = [Label(pk=pk) for pk in label_ids]
    queryset._prefetch_done = True
    conversation._prefetched_objects_cache = {"labels": queryset}
