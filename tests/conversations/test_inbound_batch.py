"""The batch path stores exactly what the single-message path stores, in fewer queries."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from channels_app.twilio.inbound import inbound_receive
from helpdesk.conversations.models import Conversation, Message
from helpdesk.conversations.services import InboundMessage
from helpdesk.conversations.services.inbound_batch import BatchItem, messages_receive_inbound_batch
from helpdesk.core.models import RealtimeEvent
from helpdesk.customers.models import ContactIdentity, Customer
from helpdesk.sla.models import SLAEvent
from tests.sla.support import policy
from tests.support import factories

pytestmark = pytest.mark.django_db

T0 = timezone.now().replace(microsecond=0) - timedelta(minutes=30)


def world() -> dict[str, Any]:
    """Customers in every state an inbound message can meet."""
    channel = factories.ChannelFactory(kind="sms", name="SMS", reopen_window_hours=24)
    policy(first_response_minutes=30)

    def customer(name: str, address: str, kind: str = "phone") -> Customer:
        made = factories.CustomerFactory(name=name)
        factories.IdentityFactory(customer=made, kind=kind, address=address)
        return made

    def conversation(owner: Customer, **fields: Any) -> Conversation:
        return factories.ConversationFactory(
            customer=owner, channel=channel, last_activity_at=T0 - timedelta(hours=1), **fields
        )

    conversation(customer("Open Olga", "+4790000001"))
    customer("WhatsApp Walt", "+4790000002", kind="whatsapp")
    conversation(
        customer("Recent Rita", "+4790000003"),
        status="resolved",
        resolved_at=T0 - timedelta(hours=2),
    )
    conversation(
        customer("Old Oskar", "+4790000004"),
        status="resolved",
        resolved_at=T0 - timedelta(days=3),
    )
    conversation(
        customer("Snoozy Sam", "+4790000005"),
        status="snoozed",
        snoozed_until=T0 + timedelta(days=1),
    )
    survivor = customer("Survivor Sue", "+4790000006")
    conversation(survivor)
    merged = customer("Merged Max", "+4790000007")
    merged.merged_into = survivor
    merged.save()
    customer("", "+4790000008")  # a nameless customer learns a name
    stored = conversation(Customer.objects.get(name="Open Olga"))
    factories.MessageFactory(
        conversation=stored, external_id="SM-already-stored", text="old", created_at=T0
    )
    return {"channel": channel}


MESSAGES = [
    ("+4790000001", "SM-a1", "Olga again", "Olga"),
    ("+4790000002", "SM-b1", "Walt by SMS now", "Walt"),
    ("+4790000003", "SM-c1", "Rita reopens", ""),
    ("+4790000004", "SM-d1", "Oskar starts over", ""),
    ("+4790000005", "SM-e1", "Sam wakes up", ""),
    ("+4790000007", "SM-f1", "Max is Sue now", ""),
    ("+4790000008", "SM-g1", "Now you know me", "Nadia"),
    ("+4790000009", "SM-h1", "New Nora 1", "Nora"),
    ("+4790000009", "SM-h2", "New Nora 2", "Nora"),
    ("+4790000010", "SM-i1", "New Ivan", ""),
    ("+4790000009", "SM-h3", "New Nora 3", "Nora"),
    ("+4790000010", "SM-i1", "New Ivan (provider retry)", ""),
    ("+4790000001", "SM-already-stored", "a retry of an old one", ""),
    ("+4790000011", "SM-j1", "New Jo by SMS", "Jo"),
    ("whatsapp:+4790000011", "SM-j2", "New Jo on WhatsApp", "Jo"),
]


def inbound(sender: str, sid: str, text: str, name: str) -> InboundMessage:
    whatsapp = sender.startswith("whatsapp:")
    return InboundMessage(
        identity_kind="whatsapp" if whatsapp else "phone",
        identity_address=sender.removeprefix("whatsapp:"),
        text=text,
        external_id=sid,
        sender_name=name,
    )


def customer_key(customer_id: int) -> tuple:
    return tuple(
        sorted(
            ContactIdentity.objects.filter(customer_id=customer_id).values_list("kind", "address")
        )
    )


def snapshot() -> dict[str, Any]:
    conversations = {}
    seen: dict[tuple, int] = {}
    for c in Conversation.objects.order_by("pk"):
        owner = customer_key(c.customer_id)
        seen[owner] = seen.get(owner, 0) + 1
        key = (owner, seen[owner])  # the customer's first, second, ... conversation
        conversations[key] = {
            "status": c.status,
            "last_activity_at": c.last_activity_at,
            "last_inbound_at": c.last_inbound_at,
            "waiting_since": c.waiting_since,
            "resolved_at": c.resolved_at,
            "snoozed_until": c.snoozed_until,
            "sla_policy": c.sla_policy.name if c.sla_policy_id else None,
            "first_response_due_at": c.first_response_due_at,
            "resolution_due_at": c.resolution_due_at,
            "sla_next_due_at": c.sla_next_due_at,
            "sla_warn_at": c.sla_warn_at,
            "last_inbound": Message.objects.filter(pk=c.last_inbound_message_id)
            .values_list("text", flat=True)
            .first(),
            "thread": list(
                c.messages.order_by("pk").values_list("kind", "text", "external_id", "created_at")
            ),
        }
    return {
        "customers": sorted(
            (customer_key(c.pk), c.name, c.merged_into_id is not None)
            for c in Customer.objects.all()
        ),
        "conversations": conversations,
        "message_events": sorted(
            (e.group.split(".")[0], e.payload["direction"], e.payload["kind"])
            for e in RealtimeEvent.objects.filter(type="message.created")
        ),
        # One conversation event per message one by one, one per conversation in a batch:
        # compare which conversations were announced, and as created or not.
        "conversation_events": sorted(
            {
                (
                    customer_key(Conversation.objects.get(pk=e.payload["conversation_id"]).customer_id),
                    RealtimeEvent.objects.filter(
                        type="conversation.created",
                        payload__conversation_id=e.payload["conversation_id"],
                    ).exists(),
                )
                for e in RealtimeEvent.objects.filter(type__startswith="conversation.")
            }
        ),
        "sla_events": SLAEvent.objects.count(),
    }


def run(mode: Callable[[Any, list[tuple]], Any]) -> tuple[dict[str, Any], list[Any]]:
    with transaction.atomic():
        channel = world()["channel"]
        results = mode(channel, MESSAGES)
        shot = snapshot()
        outcome = [(r.created, r.conversation_created, r.message.text) for r in results]
        transaction.set_rollback(True)
    return shot, outcome


def one_by_one(channel: Any, messages: list[tuple]) -> list[Any]:
    return [
        inbound_receive(channel=channel, inbound=inbound(*m), at=T0 + timedelta(seconds=n))
        for n, m in enumerate(messages)
    ]


def in_a_batch(channel: Any, messages: list[tuple]) -> list[Any]:
    items = [
        BatchItem(channel=channel, inbound=inbound(*m), at=T0 + timedelta(seconds=n))
        for n, m in enumerate(messages)
    ]
    return messages_receive_inbound_batch(items=items)


def test_inbound_batch_stores_what_the_single_path_stores():
    single, single_results = run(one_by_one)
    batch, batch_results = run(in_a_batch)
    assert batch["customers"] == single["customers"]
    assert batch["conversations"].keys() == single["conversations"].keys()
    for key, expected in single["conversations"].items():
        assert batch["conversations"][key] == expected, key
    assert batch["message_events"] == single["message_events"]
    assert batch["conversation_events"] == single["conversation_events"]
    assert batch["sla_events"] == single["sla_events"]
    assert batch_results == single_results
    # The scenarios really happened: a reopening, a wake, a merge followed, a name learnt.
    threads = {k[0]: v for k, v in single["conversations"].items()}
    assert any(kind == "activity" for kind, *_ in threads[(("phone", "+4790000003"),)]["thread"])
    assert ("", "Nadia", False) not in single["customers"]
    assert (("phone", "+4790000002"), ("whatsapp", "+4790000002")) in {
        c[0] for c in single["customers"]
    }
    # A new number's SMS and WhatsApp messages in one batch: one customer, two identities.
    assert (("phone", "+4790000011"), ("whatsapp", "+4790000011")) in {
        c[0] for c in batch["customers"]
    }


def test_inbound_batch_queries_are_constant_on_postgres_and_one_update_each_on_sqlite():
    channel = factories.ChannelFactory(kind="sms")
    policy()

    def batch_of(n: int, start: int) -> dict[str, int]:
        items = [
            BatchItem(
                channel=channel,
                inbound=inbound(f"+47911{start + i:05d}", f"SM-q{start + i}", f"hello {i}", "N"),
                at=T0,
            )
            for i in range(n)
        ]
        with CaptureQueriesContext(connection) as queries:
            messages_receive_inbound_batch(items=items)
        counts: dict[str, int] = {}
        for query in queries:
            sql = query["sql"]
            verb = "conversation update" if sql.startswith('UPDATE "conversations_conv') else (
                sql.split()[0]
            )
            counts[verb] = counts.get(verb, 0) + 1
        return counts

    small = batch_of(5, 0)
    large = batch_of(50, 100)
    updates = (small.pop("conversation update"), large.pop("conversation update"))
    # Everything else: the same statements for 5 or 50 messages (SQLite splits a long
    # bulk INSERT at its bound-parameter limit).
    if connection.vendor == "sqlite":
        assert updates == (5, 50)  # one per conversation
        assert large["SELECT"] == small["SELECT"]
        assert small["INSERT"] <= large["INSERT"] <= small["INSERT"] + 2
    else:
        assert updates == (1, 1)  # all conversations in one statement
        assert large == small
