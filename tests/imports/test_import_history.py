"""`manage.py import_history`: a shop's history in, exactly once, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.db.models import Model
from django_q.models import OrmQ

from helpdesk.agents.models import Team
from helpdesk.conversations.models import Conversation, Label, Message
from helpdesk.core.models import RealtimeEvent
from helpdesk.customers.models import ContactIdentity, Customer
from helpdesk.imports.models import ImportedConversation, ImportedCustomer
from helpdesk.sla.models import SLAEvent
from tests.imports.support import (
    SAMPLE,
    conversation,
    customer,
    import_file,
    message,
    write_file,
)
from tests.sla.support import policy
from tests.support import factories

pytestmark = pytest.mark.django_db

TABLES: list[type[Model]] = [
    Customer,
    ContactIdentity,
    Conversation,
    Message,
    Label,
    ImportedCustomer,
    ImportedConversation,
    RealtimeEvent,
    SLAEvent,
    OrmQ,
]


@pytest.fixture
def shop(db: Any) -> SimpleNamespace:
    return SimpleNamespace(
        channel=factories.ChannelFactory(kind="sms", name="SMS"),
        agent=factories.AgentFactory(username="amina", email="amina@shop.example"),
        team=Team.objects.create(name="Support"),
    )


def by_ref(ref: str) -> Conversation:
    return Conversation.objects.get(
        pk=ImportedConversation.objects.get(ref=ref).conversation_id
    )


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables an import writes to (timestamps of writing left out)."""
    skip = {"updated_at", "imported_at"}
    return {
        model.__name__: sorted(
            tuple(
                repr(getattr(row, f.attname)) for f in model._meta.concrete_fields
                if f.attname not in skip
            )
            for row in model.objects.all()
        )
        for model in TABLES
    }


def test_import_history_round_trip(shop: SimpleNamespace) -> None:
    outcome = import_file(SAMPLE, "--channel", str(shop.channel.public_id))

    assert not outcome.failed, outcome.errors
    assert outcome.counts("customers") == {"created": 3, "linked": 0, "skipped": 0, "refused": 0}
    assert outcome.counts("conversations") == {"created": 3, "skipped": 0, "refused": 0}
    assert outcome.counts("messages") == {"created": 8, "skipped": 0, "refused": 0}
    ada = Customer.objects.get(pk=ImportedCustomer.objects.get(ref="c-1001").customer_id)
    assert (ada.name, ada.locale, ada.time_zone) == ("Ada Lindqvist", "en", "Europe/Oslo")
    assert ada.custom_attributes == {"plan": "gold"}
    assert set(ada.identities.values_list("kind", "address", "verified")) == {
        ("email", "ada.lindqvist@example.com", True),
        ("phone", "+4791234567", False),
    }
    assert ContactIdentity.objects.filter(kind="whatsapp", address="+33612345678").exists()
    assert ContactIdentity.objects.filter(kind="phone", address="+4740123456").exists()

    first = by_ref("t-5001")
    assert (first.customer_id, first.channel_id) == (ada.pk, shop.channel.pk)
    assert (first.status, first.priority, first.subject) == ("resolved", 3, "Where is my order?")
    assert (first.assignee_id, first.team_id) == (shop.agent.pk, shop.team.pk)
    assert sorted(first.labels.values_list("name", "title")) == [
        ("refund", "refund"),
        ("vip-customer", "VIP customer"),
    ]
    thread = list(first.messages.order_by("id"))
    assert [m.client_id for m in thread] == ["import:m-1", "import:m-2", "import:m-3", "import:m-4"]
    assert [(m.direction, m.kind, m.sender_type) for m in thread] == [
        ("inbound", "message", "customer"),
        ("internal", "note", "agent"),
        ("outbound", "message", "agent"),
        ("inbound", "message", "customer"),
    ]
    reply = thread[2]
    assert reply.sender_user_id == shop.agent.pk  # named by email
    assert (reply.external_id, reply.delivery_status) == ("SM0001", "delivered")
    assert reply.created_at == datetime(2024, 3, 4, 10, 5, tzinfo=UTC)  # +01:00 in the file
    assert by_ref("t-5002").messages.get(direction="outbound").delivery_status == "sent"


def test_import_history_twice_changes_nothing(shop: SimpleNamespace) -> None:
    policy()
    assert not import_file(SAMPLE, "--channel", str(shop.channel.pk)).failed
    before = snapshot()

    again = import_file(SAMPLE, "--channel", str(shop.channel.pk))

    assert not again.failed
    assert again.counts("customers") == {"created": 0, "linked": 0, "skipped": 3, "refused": 0}
    assert again.counts("conversations") == {"created": 0, "skipped": 3, "refused": 0}
    assert again.counts("messages") == {"created": 0, "skipped": 8, "refused": 0}
    assert again.summary["labels_created"] == 0
    assert snapshot() == before


def test_import_history_reports_bad_lines_with_line_numbers(
    shop: SimpleNamespace, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret_text = "my card number is 4242"
    path = write_file(
        tmp_path / "bad.jsonl",
        [
            customer("c1", identities=[{"kind": "email", "address": "kari@example.com"}]),
            "{not json",
            {"type": "invoice", "id": 3},
            customer("c2", identities=[{"kind": "email", "address": "no-at-sign.example"}]),
            conversation("t1", "c1"),
            conversation("t2", "c2"),  # its customer was refused
            conversation("t3", "c-none"),
            conversation("t4", "c1", assignee="nobody"),
            message("m1", "t1", "2024-05-01T09:00:00Z", text=secret_text),
            message("m2", "t2", "2024-05-01T09:00:00Z", text=secret_text),
            message("m3", "t1", "2024-05-01 09:00"),
            message("m1", "t1", "2024-05-01T09:05:00Z"),
            customer("c1"),
            "",
            message("m4", "t1", "2024-05-01T09:10:00Z", colour="red"),
        ],
    )
    caplog.set_level(logging.DEBUG)

    outcome = import_file(path, "--channel", str(shop.channel.pk), "--chunk-size", "7")

    assert outcome.failed
    lines = {int(e.split(":")[0].removeprefix("line ")): e for e in outcome.errors}
    assert sorted(lines) == [2, 3, 4, 6, 7, 8, 10, 11, 12, 13, 15]
    assert "not valid JSON" in lines[2]
    assert '"type" must be' in lines[3]
    assert "without “@”" in lines[4]
    assert 'customer_ref "c2" was refused (line 4)' in lines[6]
    assert 'customer_ref "c-none" is unknown' in lines[7]
    assert '"assignee": there is no user' in lines[8]
    assert 'conversation_ref "t2" was refused (line 6)' in lines[10]
    assert "needs a time zone offset" in lines[11]
    assert 'message_ref "m1" already appears in this conversation on line 9' in lines[12]
    assert 'customer_ref "c1" already appears earlier in this file' in lines[13]  # chunk 2
    assert "Unknown field" in lines[15]
    assert outcome.summary["unreadable_lines"] == 2
    assert outcome.counts("customers") == {"created": 1, "linked": 0, "skipped": 0, "refused": 2}
    assert outcome.counts("conversations") == {"created": 1, "skipped": 0, "refused": 3}
    assert outcome.counts("messages") == {"created": 1, "skipped": 0, "refused": 4}
    assert list(by_ref("t1").messages.values_list("client_id", flat=True)) == ["import:m1"]
    # Personal data stays out of what the operator's terminal and the logs see.
    shown = "\n".join([*outcome.errors, caplog.text])
    for private in (secret_text, "kari@example.com", "no-at-sign.example"):
        assert private not in shown


def test_import_history_links_addresses_to_existing_customers(
    shop: SimpleNamespace, tmp_path: Path
) -> None:
    known = factories.CustomerFactory(name="")
    factories.IdentityFactory(customer=known, kind="email", address="kari@example.com")
    texter = factories.CustomerFactory(name="Ola")
    factories.IdentityFactory(customer=texter, kind="whatsapp", address="+4790000001")
    path = write_file(
        tmp_path / "link.jsonl",
        [
            customer("c1", name="Kari", identities=[
                {"kind": "email", "address": " Kari@Example.COM "},
                {"kind": "phone", "address": "+47 400 00 002"},
            ]),
            customer("c2", name="Ola Nordmann", identities=[
                {"kind": "phone", "address": "0047 900 00 001"},
            ]),
            customer("c3", identities=[{"kind": "phone", "address": "+4740000002"}]),
            customer("c4", identities=[
                {"kind": "email", "address": "kari@example.com"},
                {"kind": "phone", "address": "+4790000001"},
            ]),
            conversation("t1", "c1"),
            conversation("t2", "c2"),
            conversation("t3", "c3"),
        ],
    )

    outcome = import_file(path, "--channel", str(shop.channel.pk))

    assert outcome.counts("customers") == {"created": 0, "linked": 3, "skipped": 0, "refused": 1}
    assert len(outcome.errors) == 1
    assert outcome.errors[0].startswith("line 4: Its addresses belong to 2 different customers")
    assert Customer.objects.count() == 2
    assert by_ref("t1").customer_id == known.pk
    assert by_ref("t2").customer_id == texter.pk  # a phone number finds its WhatsApp identity
    assert by_ref("t3").customer_id == known.pk  # an address added by an earlier line
    known.refresh_from_db()
    texter.refresh_from_db()
    assert known.name == "Kari"  # an empty name is filled ...
    assert texter.name == "Ola"  # ... a name is never overwritten
    assert set(known.identities.values_list("kind", "address")) == {
        ("email", "kari@example.com"),
        ("phone", "+4740000002"),
    }
    assert set(texter.identities.values_list("kind", "address")) == {
        ("whatsapp", "+4790000001"),
        ("phone", "+4790000001"),
    }


def test_import_history_derives_conversation_fields(
    shop: SimpleNamespace, tmp_path: Path
) -> None:
    t = "2024-05-01T{}:00Z".format
    path = write_file(
        tmp_path / "derived.jsonl",
        [
            customer("c1"),
            conversation("open", "c1", status="open", created_at=t("08:00")),
            message("m1", "open", t("09:00")),
            message("m2", "open", t("09:10"), direction="outbound", sender_type="bot"),
            message("m3", "open", t("09:20"), direction="outbound", sender="amina"),
            message("m4", "open", t("09:30")),
            message("m5", "open", t("09:40")),
            message("m6", "open", t("09:50"), direction="note", sender="amina"),
            conversation("done", "c1", created_at=t("10:00")),
            message("m7", "done", t("10:00")),
            message("m8", "done", t("10:30"), direction="outbound", sender_type="bot"),
            conversation("empty", "c1", status="pending", created_at=t("11:00")),
        ],
    )

    assert not import_file(path, "--channel", str(shop.channel.pk)).failed

    open_ = by_ref("open")
    newest_inbound = open_.messages.get(client_id="import:m5")
    assert open_.last_activity_at == datetime(2024, 5, 1, 9, 50, tzinfo=UTC)  # the note
    assert open_.last_inbound_at == datetime(2024, 5, 1, 9, 40, tzinfo=UTC)
    assert open_.last_inbound_message_id == newest_inbound.pk
    assert open_.last_outbound_at == datetime(2024, 5, 1, 9, 20, tzinfo=UTC)
    assert open_.first_response_at == datetime(2024, 5, 1, 9, 20, tzinfo=UTC)  # not the bot
    assert open_.waiting_since == datetime(2024, 5, 1, 9, 30, tzinfo=UTC)
    assert open_.resolved_at is None
    done = by_ref("done")
    assert done.resolved_at == done.last_activity_at == datetime(2024, 5, 1, 10, 30, tzinfo=UTC)
    assert done.waiting_since is None  # resolved: nobody waits
    assert done.first_response_at is None  # a bot does not answer
    empty = by_ref("empty")
    assert empty.last_activity_at == datetime(2024, 5, 1, 11, 0, tzinfo=UTC)
    assert (empty.last_inbound_message_id, empty.waiting_since) == (0, None)


def history(prefix: str) -> list[dict[str, Any]]:
    """A small history whose records reach their conversation in later chunks."""
    t = "2024-05-01T{}:00Z".format
    return [
        customer(f"{prefix}c1", identities=[{"kind": "email", "address": f"{prefix}@x.test"}]),
        conversation(f"{prefix}t1", f"{prefix}c1", status="open", created_at=t("08:00")),
        conversation(f"{prefix}t2", f"{prefix}c1", created_at=t("08:00")),
        message(f"{prefix}m1", f"{prefix}t1", t("09:00")),
        message(f"{prefix}m2", f"{prefix}t2", t("09:05")),
        message(f"{prefix}m3", f"{prefix}t1", t("09:10"), direction="outbound", sender="amina"),
        message(f"{prefix}m4", f"{prefix}t2", t("09:15"), direction="outbound", sender="amina"),
        message(f"{prefix}m5", f"{prefix}t1", t("09:20")),
        message(f"{prefix}m6", f"{prefix}t2", t("09:25"), direction="note", sender="amina"),
    ]


DERIVED = [
    "status",
    "last_activity_at",
    "last_inbound_at",
    "last_outbound_at",
    "first_response_at",
    "waiting_since",
    "resolved_at",
    "sla_policy_id",
]


def derived_of(ref: str) -> tuple[Any, ...]:
    """The derived fields, and each running SLA target with its length from its start (runs
    start their clocks at different instants)."""
    conversation = by_ref(ref)
    newest = conversation.messages.filter(direction="inbound").order_by("-created_at").first()
    assert conversation.last_inbound_message_id == (newest.pk if newest else 0)
    targets = sorted(
        (name, datetime.fromisoformat(t["due"]) - datetime.fromisoformat(t["since"]))
        for name, t in conversation.sla_state.get("targets", {}).items()
    )
    return (*(getattr(conversation, name) for name in DERIVED), targets)


def test_import_history_result_does_not_depend_on_chunking(
    shop: SimpleNamespace, tmp_path: Path
) -> None:
    policy()
    whole = write_file(tmp_path / "whole.jsonl", history("a"))
    one_by_one = write_file(tmp_path / "lines.jsonl", history("b"))

    assert not import_file(whole, "--channel", str(shop.channel.pk)).failed
    assert not import_file(
        one_by_one, "--channel", str(shop.channel.pk), "--chunk-size", "1"
    ).failed

    for suffix in ("t1", "t2"):
        assert derived_of(f"a{suffix}") == derived_of(f"b{suffix}")
    waiting = by_ref("bt1")
    assert waiting.waiting_since == datetime(2024, 5, 1, 9, 20, tzinfo=UTC)
    # Answered once, waiting again: the clocks are those of the whole history, not of the
    # conversation line alone (which had no messages yet).
    assert sorted(waiting.sla_state["targets"]) == ["next_response", "resolution"]


def test_import_history_dry_run_writes_nothing(shop: SimpleNamespace, tmp_path: Path) -> None:
    factories.IdentityFactory(kind="email", address="a@x.test")  # customer ac1 links to it
    lines = [*history("a"), conversation("bad", "nobody"), customer("ac1")]
    path = write_file(tmp_path / "dry.jsonl", lines)
    before = snapshot()

    dry = import_file(path, "--channel", str(shop.channel.pk), "--dry-run", "--chunk-size", "2")

    assert snapshot() == before
    assert dry.failed and dry.summary["dry_run"] is True
    real = import_file(path, "--channel", str(shop.channel.pk), "--chunk-size", "2")
    assert {k: v for k, v in dry.summary.items() if k not in ("dry_run", "seconds")} == {
        k: v for k, v in real.summary.items() if k not in ("dry_run", "seconds")
    }
    assert dry.errors == real.errors


def test_import_history_starts_sla_and_events_only_for_open_conversations(
    shop: SimpleNamespace, events: Any
) -> None:
    policy(first_response_minutes=60)

    assert not import_file(SAMPLE, "--channel", str(shop.channel.pk)).failed

    resolved, open_, pending = by_ref("t-5001"), by_ref("t-5002"), by_ref("t-5003")
    assert resolved.sla_policy_id is None and resolved.sla_state == {}
    assert resolved.sla_next_due_at is None
    started = ImportedConversation.objects.get(ref="t-5002").imported_at
    assert open_.sla_policy_id is not None
    # Clocks start at the import, not in the source's past (no instant breach).
    assert open_.first_response_due_at > started
    assert pending.sla_paused_at is not None and pending.sla_next_due_at is None
    assert sorted((e["type"], e["conversation_id"]) for e in events.all()) == [
        ("conversation.created", open_.pk),
        ("conversation.created", pending.pk),
    ]
    assert not SLAEvent.objects.exists()
    assert not OrmQ.objects.exists()  # no delivery, acknowledgement or SLA job for history


def test_import_history_skips_messages_the_channel_already_has(
    shop: SimpleNamespace,
) -> None:
    live = factories.MessageFactory(
        conversation=factories.ConversationFactory(channel=shop.channel), external_id="SM0002"
    )

    outcome = import_file(SAMPLE, "--channel", str(shop.channel.pk))

    assert outcome.counts("messages") == {"created": 7, "skipped": 1, "refused": 0}
    assert Message.objects.filter(external_id="SM0002").get() == live


def test_import_history_again_after_a_fix_adds_just_the_refused_lines(
    shop: SimpleNamespace, tmp_path: Path
) -> None:
    lines = history("a")
    lines.append(
        message("am7", "at2", "2024-05-01T10:00:00Z", direction="outbound", sender="morgan")
    )
    path = write_file(tmp_path / "fix.jsonl", lines)
    first = import_file(path, "--channel", str(shop.channel.pk))
    assert first.failed and first.counts("messages")["refused"] == 1
    assert by_ref("at2").last_activity_at == datetime(2024, 5, 1, 9, 25, tzinfo=UTC)

    factories.UserFactory(username="morgan")  # a former colleague, as a user
    second = import_file(path, "--channel", str(shop.channel.pk))

    assert not second.failed
    assert second.counts("messages") == {"created": 1, "skipped": 6, "refused": 0}
    assert by_ref("at2").last_activity_at == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


@pytest.mark.postgres
def test_import_history_messages_are_found_by_search(shop: SimpleNamespace) -> None:
    from helpdesk.console.selectors import InboxFilters, inbox_page

    assert not import_file(SAMPLE, "--channel", str(shop.channel.pk)).failed

    assert not Message.objects.filter(kind="message", search_document__isnull=True).exists()
    found = inbox_page(shop.agent, InboxFilters(status=None, query="remboursements"))
    assert [c.pk for c in found.object_list] == [by_ref("t-5002").pk]  # French stemming
    found = inbox_page(shop.agent, InboxFilters(status=None, query="tracking"))
    assert [c.pk for c in found.object_list] == [by_ref("t-5001").pk]


@pytest.mark.postgres
def test_import_history_copy_and_bulk_create_write_the_same(
    shop: SimpleNamespace, tmp_path: Path
) -> None:
    from helpdesk.imports.services import history_import

    policy()
    for prefix, use_copy in (("a", True), ("b", False)):
        path = write_file(tmp_path / f"{prefix}.jsonl", history(prefix))
        with path.open("rb") as lines:
            summary = history_import(lines=lines, channel=shop.channel, use_copy=use_copy)
        assert summary.refused == 0

    for suffix in ("t1", "t2"):
        assert derived_of(f"a{suffix}") == derived_of(f"b{suffix}")


def test_import_history_refuses_an_unknown_channel_before_reading(shop: SimpleNamespace) -> None:
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="no channel with id or public id 999"):
        call_command("import_history", str(SAMPLE), "--channel", "999")

    assert not Customer.objects.exists()


def test_import_history_again_after_a_customer_merge_changes_nothing(
    shop: SimpleNamespace,
) -> None:
    from helpdesk.customers.services import customer_merge

    assert not import_file(SAMPLE, "--channel", str(shop.channel.pk)).failed
    imported = Customer.objects.get(pk=ImportedCustomer.objects.get(ref="c-1001").customer_id)
    survivor = customer_merge(source=imported, target=factories.CustomerFactory())
    before = snapshot()

    again = import_file(SAMPLE, "--channel", str(shop.channel.pk))

    assert again.counts("customers")["skipped"] == 3
    assert ImportedCustomer.objects.get(ref="c-1001").customer_id == survivor.pk
    assert snapshot() == before


def test_import_history_tries_a_chunk_again_after_a_concurrent_write(
    shop: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import IntegrityError

    from helpdesk.imports import services

    real = services.import_chunk
    calls = []

    def racing(**kwargs: Any) -> Any:
        calls.append(1)
        report = real(**kwargs)
        if len(calls) == 1:  # another writer took an address meanwhile: roll back
            raise IntegrityError("duplicate key")
        return report

    monkeypatch.setattr(services, "import_chunk", racing)

    outcome = import_file(SAMPLE, "--channel", str(shop.channel.pk))

    assert len(calls) == 2 and not outcome.failed
    assert outcome.counts("messages") == {"created": 8, "skipped": 0, "refused": 0}
    assert Customer.objects.count() == 3


def test_import_history_refuses_a_chunk_the_database_refuses_without_quoting_it(
    shop: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import DataError

    from helpdesk.imports import services

    def refused(**kwargs: Any) -> Any:
        raise DataError('value too long: "Ada.Lindqvist@Example.com"')

    monkeypatch.setattr(services, "import_chunk", refused)

    outcome = import_file(SAMPLE, "--channel", str(shop.channel.pk))

    assert outcome.failed
    assert len(outcome.errors) == 14
    assert outcome.errors[0] == (
        "line 1: Not imported: the database refused lines 1 to 14 (DataError)."
    )
    assert not any("Lindqvist" in error for error in outcome.errors)
    assert not Customer.objects.exists()
