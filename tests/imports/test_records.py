"""The import file format, line by line, without the database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from helpdesk.imports.records import (
    ConversationRecord,
    CustomerRecord,
    MessageRecord,
    RecordError,
    client_id_for,
    parse_line,
)

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def parse(data: Any) -> Any:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return parse_line(raw, 7, now=NOW)


def refused(data: Any) -> RecordError:
    with pytest.raises(RecordError) as caught:
        parse(data)
    return caught.value


def test_parse_line_normalizes_identities_as_the_domain_does() -> None:
    record = parse(
        {
            "type": "customer",
            "customer_ref": 1001,
            "name": "  Kari  ",
            "identities": [
                {"kind": "email", "address": " Kari@Example.COM ", "verified": True},
                {"kind": "whatsapp", "address": "whatsapp:+47 900 00 001"},
                {"kind": "phone", "address": "0047 400-00-002"},
            ],
        }
    )

    assert isinstance(record, CustomerRecord)
    assert (record.line, record.ref, record.name) == (7, "1001", "Kari")
    assert [(i.kind, i.address, i.verified) for i in record.identities] == [
        ("email", "kari@example.com", True),
        ("whatsapp", "+4790000001", False),
        ("phone", "+4740000002", False),
    ]


def test_parse_line_reads_conversations_with_defaults() -> None:
    record = parse(
        {
            "type": "conversation",
            "conversation_ref": "t1",
            "customer_ref": "c1",
            "labels": ["Late delivery", "VIP"],
            "priority": "Urgent",
            "created_at": "2024-05-01T11:00:00+02:00",
        }
    )

    assert isinstance(record, ConversationRecord)
    assert record.status == "resolved"  # history, unless the file says otherwise
    assert record.priority == 4
    assert [(label.name, label.title) for label in record.labels] == [
        ("late-delivery", "Late delivery"),
        ("vip", "VIP"),
    ]
    assert record.created_at == datetime(2024, 5, 1, 9, 0, tzinfo=UTC)


def test_parse_line_maps_message_directions_to_the_model() -> None:
    base = {"type": "message", "conversation_ref": "t1", "created_at": "2024-05-01T09:00:00Z"}

    note = parse({**base, "message_ref": "m1", "direction": "note", "text": "internal"})
    reply = parse({**base, "message_ref": "m2", "direction": "outbound", "text": "hi"})
    inbound = parse({**base, "message_ref": "m3", "direction": "inbound", "text": ""})

    assert isinstance(note, MessageRecord)
    assert (note.direction, note.kind, note.sender_type) == ("internal", "note", "agent")
    assert (reply.direction, reply.sender_type, reply.delivery_status) == (
        "outbound",
        "agent",
        "sent",  # never pending: the delivery jobs must not send history again
    )
    assert (inbound.sender_type, inbound.delivery_status, inbound.text) == ("customer", "", "")


def test_parse_line_refuses_with_the_reason_and_the_record_ref() -> None:
    base = {"type": "conversation", "conversation_ref": "t1", "customer_ref": "c1"}

    naive = refused({**base, "created_at": "2024-05-01 09:00"})
    future = refused({**base, "created_at": "2025-01-02T00:00:00Z"})
    snoozed = refused({**base, "created_at": "2024-05-01T09:00:00Z", "status": "snoozed"})
    typo = refused({**base, "created_at": "2024-05-01T09:00:00Z", "asignee": "amina"})

    assert "time zone offset" in naive.message
    assert "in the future" in future.message
    assert "snoozed_until" in snoozed.message
    assert "asignee" in typo.message
    assert (naive.kind, naive.ref) == ("conversations", "t1")


def test_parse_line_refuses_unreadable_lines_without_quoting_them() -> None:
    for raw, reason in (
        (b"\xff\xfe{}", "UTF-8"),
        (b'{"type": "customer", "name": "Kari Nordmann', "JSON"),
        (b"[1, 2]", "object"),
        (b'{"type": "ticket"}', '"type"'),
    ):
        error = refused(raw)
        assert reason in error.message
        assert error.kind == ""
        assert "Kari" not in error.message


def test_parse_line_never_quotes_an_address() -> None:
    error = refused(
        {
            "type": "customer",
            "customer_ref": "c1",
            "identities": [{"kind": "email", "address": "kari.example.com"}],
        }
    )

    assert "kari.example.com" not in error.message


def test_parse_line_cleans_what_no_database_can_store() -> None:
    record = parse_line(
        b'{"type": "message", "message_ref": "m1", "conversation_ref": "t1", '
        b'"direction": "inbound", "text": "a\\u0000b\\ud800c", "created_at": "2024-05-01T09:00Z"}',
        1,
        now=NOW,
    )

    assert isinstance(record, MessageRecord)
    assert record.text == "ab\ufffdc"


def test_parse_line_skips_blank_lines() -> None:
    assert parse_line(b"  \n", 3, now=NOW) is None


def test_client_id_for_fits_the_column_and_stays_distinct() -> None:
    short, long_a, long_b = client_id_for("m-1"), client_id_for("x" * 80), client_id_for("y" * 80)

    assert short == "import:m-1"
    assert len(long_a) <= 64 and long_a.startswith("import#")
    assert long_a != long_b
