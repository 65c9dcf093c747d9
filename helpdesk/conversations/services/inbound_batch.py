"""Receiving many customer messages at once: the ingest process's batches.

The result is what `message_receive_inbound` gives for each item in order (same customers,
conversations, reopenings, SLA clocks, events), with a number of queries that does not grow
with the batch in the common case: one lookup for repeats, one for identities, one lock for
customers, one (plus one lock) for their latest conversations, one INSERT each for new
customers, identities, conversations and messages, one UPDATE per conversation, one INSERT for
the event log and, after commit, one publish per group. SLA policies are loaded once.

Rarer paths stay per item inside the batch: a reopened conversation's activity line, a
sibling identity to attach (a WhatsApp customer who now texts), a name learnt for a nameless
customer, a customer merged away, stored attachments.

One transaction (a savepoint inside the caller's); it locks the customers, as the single path
does, so a concurrent single-message writer waits. A unique constraint that another writer won first
(a new identity, a repeated provider id) raises IntegrityError: the caller then processes the
items one by one, each deciding its race as the single path does.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import reduce
from typing import Any

from django.db import connection, transaction
from django.db.models import Q

from helpdesk.conversations.events import conversation_facts, message_facts
from helpdesk.conversations.models import (
    Conversation,
    ConversationStatus,
    Label,
    Message,
    MessageDirection,
    MessageKind,
    SenderType,
)
from helpdesk.conversations.services.inbound import (
    InboundMessage,
    InboundResult,
    _store_attachment,
    _wake,
    message_receive_inbound,
)
from helpdesk.core.db import update_rows
from helpdesk.core.jobs import enqueue_on_commit
from helpdesk.core.realtime import broadcast_many_on_commit, inbox_group, visitor_group
from helpdesk.customers.identities import SIBLING_KINDS, normalize_address
from helpdesk.customers.models import ContactIdentity, Customer
from helpdesk.customers.services import identity_attach
from helpdesk.inboxes.models import Channel
from helpdesk.sla import clock, timers
from helpdesk.sla.policies import load_policies

CONVERSATION_FIELDS = [
    "status",
    "snoozed_until",
    "resolved_at",
    "last_activity_at",
    "last_inbound_at",
    "last_inbound_message_id",
    "waiting_since",
    "updated_at",
]


@dataclass(frozen=True)
class BatchItem:
    channel: Channel
    inbound: InboundMessage
    at: datetime  # when the customer wrote (the webhook's acceptance time)


@transaction.atomic
def messages_receive_inbound_batch(*, items: Sequence[BatchItem]) -> list[InboundResult]:
    """Store customer messages in order, as `message_receive_inbound` would one by one; returns
    one result per item. Items that name a customer or a conversation (widget sessions) are not
    batched: the whole batch then goes through the single path, in order."""
    if any(
        i.inbound.customer_id or i.inbound.conversation_id or not _address(i)[1] for i in items
    ):
        return [
            message_receive_inbound(channel=i.channel, inbound=i.inbound, at=i.at) for i in items
        ]
    results: list[InboundResult | None] = [None] * len(items)
    fresh, repeats = _split_repeats(items, results)
    if not fresh:
        return [r for r in results if r is not None]
    customers = _customers_for(items, fresh)
    policies = load_policies()
    conversations, created, woken = _conversations_for(items, fresh, customers, policies)
    messages = _insert_messages(items, fresh, customers, conversations)
    touched = _update_conversations(items, fresh, conversations, messages, policies)
    _broadcast(
        [c for c in touched if c.pk in created or c.pk in woken],
        created,
        [messages[i] for i in fresh],
    )
    for index in fresh:
        conversation = conversations[_group(items[index], customers)]
        results[index] = InboundResult(
            message=messages[index],
            created=True,
            conversation_created=created.get(conversation.pk) == index,
        )
        if items[index].channel.settings.get("auto_acknowledge"):
            enqueue_on_commit("helpdesk.sla.tasks.acknowledge", messages[index].pk)
    for index, original in repeats.items():
        results[index] = InboundResult(message=messages[original], created=False)
    return [r for r in results if r is not None]


def _split_repeats(
    items: Sequence[BatchItem], results: list[InboundResult | None]
) -> tuple[list[int], dict[int, int]]:
    """Items already stored (a provider retry) get their stored message; a provider id twice in
    this batch is created once. Returns the indexes to create and {repeat: first}."""
    ids = {(i.channel.pk, i.inbound.external_id) for i in items if i.inbound.external_id}
    stored = {}
    if ids:
        stored = {
            (m.channel_id, m.external_id): m
            for m in Message.objects.select_related("conversation").filter(
                channel_id__in={c for c, _ in ids}, external_id__in={e for _, e in ids}
            )
        }
    fresh: list[int] = []
    first: dict[tuple[int, str], int] = {}
    repeats: dict[int, int] = {}
    for index, item in enumerate(items):
        key = (item.channel.pk, item.inbound.external_id) if item.inbound.external_id else None
        if key in stored:
            results[index] = InboundResult(message=stored[key], created=False)
        elif key in first:
            repeats[index] = first[key]
        else:
            if key is not None:
                first[key] = index
            fresh.append(index)
    return fresh, repeats


def _address(item: BatchItem) -> tuple[str, str]:
    kind = item.inbound.identity_kind
    return kind, normalize_address(kind, item.inbound.identity_address)


def _customers_for(items: Sequence[BatchItem], fresh: list[int]) -> dict[tuple[str, str], Customer]:
    """(kind, address) -> the locked customer behind it, created (with its identity) if new."""
    wanted: dict[tuple[str, str], int] = {}  # address -> first item index
    for index in fresh:
        wanted.setdefault(_address(items[index]), index)
    lookup: dict[str, set[str]] = {}
    for kind, address in wanted:
        lookup.setdefault(kind, set()).add(address)
        if kind in SIBLING_KINDS:
            lookup.setdefault(SIBLING_KINDS[kind], set()).add(address)
    known = {
        (kind, address): customer_id
        for kind, address, customer_id in ContactIdentity.objects.filter(
            reduce(operator.or_, (Q(kind=k, address__in=a) for k, a in lookup.items()))
        ).values_list("kind", "address", "customer_id")
    }
    owner: dict[tuple[str, str], int] = {}
    siblings: list[tuple[tuple[str, str], int]] = []
    new: list[tuple[str, str]] = []
    new_sibling_of: dict[tuple[str, str], tuple[str, str]] = {}
    for key in wanted:
        kind, address = key
        sibling = (SIBLING_KINDS[kind], address) if kind in SIBLING_KINDS else None
        if key in known:
            owner[key] = known[key]
        elif sibling in known:
            owner[key] = known[sibling]
            siblings.append((key, wanted[key]))
        elif sibling in new:
            # A new number's SMS and WhatsApp messages in one batch: one customer, as one by
            # one (the second finds the first's identity and is attached to its customer).
            new_sibling_of[key] = sibling
            siblings.append((key, wanted[key]))
        else:
            new.append(key)
    new.sort()  # every writer inserts identities in one order: no deadlock between two
    if new:
        made = Customer.objects.bulk_create(
            [
                Customer(
                    name=items[wanted[k]].inbound.sender_name[:200],
                    locale=items[wanted[k]].inbound.locale,
                )
                for k in new
            ]
        )
        ContactIdentity.objects.bulk_create(
            [
                ContactIdentity(
                    customer=customer,
                    kind=kind,
                    address=address,
                    verified=items[wanted[(kind, address)]].inbound.verified,
                )
                for (kind, address), customer in zip(new, made, strict=True)
            ]
        )
        owner.update({k: c.pk for k, c in zip(new, made, strict=True)})
    owner.update({key: owner[sibling] for key, sibling in new_sibling_of.items()})
    locked = _lock_following_merges(set(owner.values()))
    customers = {key: locked[customer_id] for key, customer_id in owner.items()}
    for key, index in siblings:
        kind, address = key
        identity_attach(
            customer=customers[key], kind=kind, address=address,
            verified=items[index].inbound.verified,
        )
    for key, index in wanted.items():
        name = items[index].inbound.sender_name
        customer = customers[key]
        if name and not customer.name:  # a name learnt from a channel fills an empty one
            customer.name = name[:200]
            customer.save(update_fields=["name", "updated_at"])
    return customers


def _lock_following_merges(ids: set[int]) -> dict[int, Customer]:
    """Lock the customers (in id order, like every writer); a merge that committed while we
    waited is followed to the surviving customer. Returns {asked id: survivor}."""
    rows = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=ids).order_by("pk")}
    result = {}
    for customer_id in ids:
        customer = rows[customer_id]
        for _hop in range(10):
            if customer.merged_into_id is None:
                break
            customer = Customer.objects.select_for_update().get(pk=customer.merged_into_id)
        result[customer_id] = customer
    return result


def _group(item: BatchItem, customers: dict[tuple[str, str], Customer]) -> tuple[int, int]:
    return item.channel.pk, customers[_address(item)].pk


def _latest_conversation_ids(groups: set[tuple[int, int]]) -> list[int]:
    query = reduce(
        operator.or_,
        (
            Q(channel_id=channel_id, customer_id__in=[c for ch, c in groups if ch == channel_id])
            for channel_id in {ch for ch, _ in groups}
        ),
    )
    ordered = Conversation.objects.filter(query).order_by(
        "channel_id", "customer_id", "-created_at", "-pk"
    )
    if connection.vendor == "postgresql":
        return list(ordered.distinct("channel_id", "customer_id").values_list("pk", flat=True))
    latest: dict[tuple[int, int], int] = {}
    for pk, channel_id, customer_id in ordered.values_list("pk", "channel_id", "customer_id"):
        latest.setdefault((channel_id, customer_id), pk)
    return list(latest.values())


def _conversations_for(
    items: Sequence[BatchItem],
    fresh: list[int],
    customers: dict[tuple[str, str], Customer],
    policies: Any,
) -> tuple[dict[tuple[int, int], Conversation], dict[int, int], set[int]]:
    """(channel, customer) -> the locked conversation each group's messages go to: the latest
    one while open or inside the channel's reopen window, else a new one. Returns it,
    {new conversation id: index of the item that opened it} and the ids of conversations a
    message brought back to open."""
    first: dict[tuple[int, int], int] = {}
    for index in fresh:
        first.setdefault(_group(items[index], customers), index)
    latest = {
        (c.channel_id, c.customer_id): c
        for c in Conversation.objects.select_for_update()
        .filter(pk__in=_latest_conversation_ids(set(first)))
        .order_by("pk")  # the order every writer locks conversations in
    }
    chosen: dict[tuple[int, int], Conversation] = {}
    to_create: list[tuple[tuple[int, int], int]] = []
    for group, index in first.items():
        item = items[index]
        conversation = latest.get(group)
        if conversation is not None and _continues(conversation, item):
            chosen[group] = conversation
        else:
            to_create.append((group, index))
    made = Conversation.objects.bulk_create(
        [
            Conversation(
                customer=customers[_address(items[index])],
                channel=items[index].channel,
                team_id=items[index].channel.default_team_id,
                subject=items[index].inbound.subject[:255],
                created_at=items[index].at,
                last_activity_at=items[index].at,
            )
            for _group_key, index in to_create
        ]
    )
    created: dict[int, int] = {}
    for (group, index), conversation in zip(to_create, made, strict=True):
        conversation._prefetched_objects_cache = {"labels": Label.objects.none()}  # none yet
        timers.sla_on_conversation_created(
            conversation=conversation, at=items[index].at, policies=policies, save=False
        )
        chosen[group] = conversation
        created[conversation.pk] = index
    woken: set[int] = set()
    for group, conversation in chosen.items():
        conversation.customer = customers[_address(items[first[group]])]
        conversation.channel = items[first[group]].channel
        if conversation.pk not in created and conversation.status != ConversationStatus.OPEN:
            _wake(conversation, now=items[first[group]].at, policies=policies, save=False)
            woken.add(conversation.pk)
    return chosen, created, woken


def _continues(conversation: Conversation, item: BatchItem) -> bool:
    if conversation.status != ConversationStatus.RESOLVED:
        return True
    window = timedelta(hours=item.channel.reopen_window_hours)
    return bool(conversation.resolved_at and item.at - conversation.resolved_at <= window)


def _insert_messages(
    items: Sequence[BatchItem],
    fresh: list[int],
    customers: dict[tuple[str, str], Customer],
    conversations: dict[tuple[int, int], Conversation],
) -> dict[int, Message]:
    messages = {
        index: Message(
            conversation=conversations[_group(items[index], customers)],
            channel=items[index].channel,
            direction=MessageDirection.INBOUND,
            kind=MessageKind.MESSAGE,
            sender_type=SenderType.CUSTOMER,
            text=items[index].inbound.text,
            external_id=items[index].inbound.external_id or None,
            content_attributes=items[index].inbound.content_attributes,
            created_at=items[index].at,
        )
        for index in fresh
    }
    Message.objects.bulk_create(list(messages.values()))
    for index, message in messages.items():
        for attachment in items[index].inbound.attachments:
            _store_attachment(message, attachment)
    return messages


def _update_conversations(
    items: Sequence[BatchItem],
    fresh: list[int],
    conversations: dict[tuple[int, int], Conversation],
    messages: dict[int, Message],
    policies: Any,
) -> list[Conversation]:
    """Activity, unread marker, waiting time and SLA clocks; then one UPDATE each."""
    touched: dict[int, Conversation] = {}
    first_at: dict[int, datetime] = {}
    for index in fresh:
        message = messages[index]
        conversation = message.conversation
        at = items[index].at
        touched.setdefault(conversation.pk, conversation)
        first_at.setdefault(conversation.pk, at)
        conversation.last_activity_at = max(conversation.last_activity_at, at)
        conversation.last_inbound_at = at
        conversation.last_inbound_message_id = message.pk
        if conversation.waiting_since is None:
            conversation.waiting_since = at
    for conversation in touched.values():
        timers.sla_on_customer_message(
            conversation=conversation, at=first_at[conversation.pk], policies=policies, save=False
        )
    update_rows(list(touched.values()), [*CONVERSATION_FIELDS, *clock.SLA_FIELDS])
    return list(touched.values())


def _broadcast(
    conversations: list[Conversation], created: dict[int, int], messages: list[Message]
) -> None:
    """`message.created` for each message (the inbox refreshes on it); a conversation event
    only where the conversation itself changed: created, or brought back to open."""
    events: list[tuple[str, dict[str, Any]]] = []
    for conversation in conversations:
        kind = "conversation.created" if conversation.pk in created else "conversation.updated"
        facts = {"type": kind, **conversation_facts(conversation)}
        events.append((inbox_group(conversation.channel_id), facts))
    for message in messages:
        facts = {"type": "message.created", **message_facts(message)}
        events.append((inbox_group(message.channel_id), facts))
        if message.is_public:
            events.append((visitor_group(message.conversation.customer_id), facts))
    broadcast_many_on_commit(events)
