"""The fields a conversation derives from its history, replayed as the services would."""

from __future__ import annotations

from datetime import UTC, datetime

from helpdesk.imports.derived import MessageFact, derive


def at(minute: int) -> datetime:
    return datetime(2024, 5, 1, 9, minute, tzinfo=UTC)


def fact(pk: int, minute: int, direction: str = "inbound", **kw: str) -> MessageFact:
    return MessageFact(
        id=pk,
        at=at(minute),
        direction=direction,
        kind=kw.get("kind", "message"),
        sender_type=kw.get("sender_type", "customer" if direction == "inbound" else "agent"),
    )


def test_derive_follows_time_not_the_order_given() -> None:
    shuffled = [fact(3, 30), fact(1, 10), fact(2, 20, "outbound")]

    result = derive(created_at=at(0), status="open", resolved_at=None, messages=shuffled)

    assert result.first_response_at == at(20)
    assert result.waiting_since == at(30)  # the wait the reply ended is over
    assert (result.last_inbound_at, result.last_inbound_message_id) == (at(30), 3)


def test_derive_counts_only_an_agent_reply_as_an_answer() -> None:
    history = [fact(1, 10), fact(2, 20, "outbound", sender_type="bot")]

    result = derive(created_at=at(0), status="open", resolved_at=None, messages=history)

    assert result.first_response_at is None
    assert result.waiting_since == at(10)
    assert result.last_outbound_at == at(20)


def test_derive_treats_notes_as_activity_and_ignores_activity_lines() -> None:
    history = [
        fact(1, 10),
        fact(2, 20, "internal", kind="note"),
        fact(3, 40, "internal", kind="activity", sender_type="system"),
    ]

    result = derive(created_at=at(0), status="open", resolved_at=None, messages=history)

    assert result.last_activity_at == at(20)
    assert result.waiting_since == at(10)


def test_derive_resolves_no_earlier_than_the_last_activity() -> None:
    history = [fact(1, 10), fact(2, 50)]

    given = derive(created_at=at(0), status="resolved", resolved_at=at(55), messages=history)
    early = derive(created_at=at(0), status="resolved", resolved_at=at(20), messages=history)
    unsaid = derive(created_at=at(0), status="resolved", resolved_at=None, messages=history)

    assert given.resolved_at == at(55)
    assert early.resolved_at == unsaid.resolved_at == at(50)
    assert given.waiting_since is None


def test_derive_of_a_conversation_without_messages() -> None:
    result = derive(created_at=at(5), status="pending", resolved_at=None, messages=[])

    assert result.last_activity_at == at(5)
    assert (result.last_inbound_message_id, result.waiting_since, result.resolved_at) == (
        0,
        None,
        None,
    )
