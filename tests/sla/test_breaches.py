"""The breach job: warnings and breaches recorded once, columns advanced, notifications,
escalation, idempotency (twice; concurrently on PostgreSQL) and the index behind its query."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django_q.models import Schedule

from helpdesk.conversations.models import Conversation, Message
from helpdesk.core.models import RealtimeEvent
from helpdesk.sla import breaches, timers
from helpdesk.sla.breaches import due_conversations
from helpdesk.sla.models import SLAEvent
from helpdesk.sla.tasks import check_deadlines
from tests.sla.support import policy
from tests.support import factories

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def started(**kwargs) -> Conversation:
    conversation = factories.ConversationFactory(**kwargs)
    timers.sla_on_conversation_created(conversation=conversation, at=T0)
    return Conversation.objects.get(pk=conversation.pk)


def test_breach_schedules_check_every_half_minute():
    """Two one-minute schedules, 30 s apart: django-q2 looks for due schedules every 30 s, so
    every pass runs a check and a deadline waits about 30 s at most to be recorded."""
    first = Schedule.objects.get(name="relay.sla_check_deadlines")
    second = Schedule.objects.get(name="relay.sla_check_deadlines_half")
    for schedule in (first, second):
        assert schedule.func == "helpdesk.sla.tasks.check_deadlines"
        assert schedule.minutes == 1 and schedule.repeats == -1
    offset = (second.next_run - first.next_run).total_seconds() % 60
    assert 25 <= offset <= 35


def test_check_deadlines_records_warning_once_and_advances_to_the_deadline(agent, events):
    policy()
    conversation = started(assignee=agent)
    assert check_deadlines(now=T0 + timedelta(minutes=47)) == 0
    assert check_deadlines(now=T0 + timedelta(minutes=49)) == 1
    warned = Conversation.objects.get(pk=conversation.pk)
    assert warned.sla_warn_at == T0 + timedelta(minutes=480)  # the resolution warning is next
    assert warned.sla_next_due_at == T0 + timedelta(minutes=60)
    event = SLAEvent.objects.get()
    assert (event.target, event.kind) == ("first_response", "warning")
    sent = [e for e in events.all() if e["type"] == "sla.warning"]
    assert {e["group"] for e in sent} == {f"inbox.{conversation.channel_id}"}
    notified = [e for e in events.all() if e.get("kind") == "sla_warning"]
    assert [e["group"] for e in notified] == [f"agent.{agent.pk}"]  # stored, announced live
    assert Message.objects.filter(content_attributes__event="sla_warning").count() == 1


def test_check_deadlines_twice_changes_nothing(agent):
    policy()
    started(assignee=agent)
    now = T0 + timedelta(minutes=61)
    assert check_deadlines(now=now) == 1
    counts = (SLAEvent.objects.count(), RealtimeEvent.objects.count(), Message.objects.count())
    assert check_deadlines(now=now) == 0
    assert (SLAEvent.objects.count(), RealtimeEvent.objects.count(), Message.objects.count()) == (
        counts
    )


def test_breach_without_prior_warning_is_only_a_breach_and_escalates(agent, manager, events):
    team = factories.TeamFactory()
    member = factories.AgentFactory()
    team.members.add(member)
    rescuer = factories.AgentFactory()
    second_line = factories.TeamFactory()
    policy(escalate_priority=4, escalate_team=second_line, escalate_assignee=rescuer)
    conversation = started(assignee=agent, team=team)
    assert check_deadlines(now=T0 + timedelta(minutes=61)) == 1
    assert list(SLAEvent.objects.values_list("kind", flat=True)) == ["breached"]
    escalated = Conversation.objects.get(pk=conversation.pk)
    assert escalated.priority == 4
    assert escalated.team_id == second_line.pk
    assert escalated.assignee_id == rescuer.pk
    assert escalated.sla_unrecorded_due_at == T0 + timedelta(minutes=600)
    assert escalated.sla_next_due_at == T0 + timedelta(minutes=60)  # breached, still unmet
    groups = {e["group"] for e in events.all() if e["type"] == "sla.breached"}
    assert f"inbox.{conversation.channel_id}" in groups
    notified = {e["group"] for e in events.all() if e.get("kind") == "sla_breached"}
    assert {f"agent.{u.pk}" for u in (agent, member, manager)} <= notified
    activity = Message.objects.filter(conversation=conversation, kind="activity")
    assert {m.content_attributes["event"] for m in activity} >= {
        "sla_breached",
        "priority_changed",
        "team_changed",
        "assigned",
    }


def test_check_deadlines_processes_every_batch():
    policy()
    conversations = [started() for _ in range(5)]
    assert check_deadlines(now=T0 + timedelta(minutes=61), batch_size=2) == 5
    assert SLAEvent.objects.filter(kind="breached").count() == 5
    assert not due_conversations(now=T0 + timedelta(minutes=61)).exists()
    assert {c.pk for c in conversations} == set(
        SLAEvent.objects.values_list("conversation_id", flat=True)
    )


def test_check_deadlines_query_count_does_not_grow_with_rows(django_assert_max_num_queries):
    policy()
    for _ in range(3):
        started()
    with django_assert_max_num_queries(60) as small:
        check_deadlines(now=T0 + timedelta(minutes=49))
    for _ in range(9):
        started()
    with django_assert_max_num_queries(200) as large:
        check_deadlines(now=T0 + timedelta(minutes=49))
    # Fixed work per run plus a constant amount per recorded warning.
    per_row_small = (len(small.captured_queries) - 8) / 3
    per_row_large = (len(large.captured_queries) - 8) / 9
    assert per_row_large <= per_row_small + 1


def test_check_deadlines_keeps_a_recorded_breach_as_the_unmet_deadline():
    policy()
    conversation = started()
    check_deadlines(now=T0 + timedelta(minutes=61))
    breached = Conversation.objects.get(pk=conversation.pk)
    assert breached.sla_unrecorded_due_at == T0 + timedelta(minutes=600)  # the job moves on
    assert breached.sla_next_due_at == T0 + timedelta(minutes=60)  # the inbox sort does not
    assert not due_conversations(now=T0 + timedelta(minutes=62)).exists()


@pytest.mark.django_db(transaction=True)
def test_check_deadlines_commits_each_conversation_in_its_own_transaction(monkeypatch):
    policy(escalate_priority=4)
    for _ in range(4):
        started()
    commits: list[int] = []
    seen: list[int] = []
    real_commit = connection.commit
    real_process = breaches._process_one

    def counting_commit() -> None:
        commits.append(1)
        real_commit()

    def watching_process(conversation, **kwargs):
        seen.append(len(commits))  # commits so far when this conversation's work starts
        return real_process(conversation, **kwargs)

    monkeypatch.setattr(connection, "commit", counting_commit)
    monkeypatch.setattr(breaches, "_process_one", watching_process)
    assert check_deadlines(now=T0 + timedelta(minutes=61)) == 4
    # Each conversation (with its escalation) was committed before the next one was locked,
    # so no write waits on more than one conversation's work.
    assert len(seen) == 4 and len(set(seen)) == 4, seen
    assert SLAEvent.objects.filter(kind="breached").count() == 4
    assert set(Conversation.objects.values_list("priority", flat=True)) == {4}
    assert check_deadlines(now=T0 + timedelta(minutes=61)) == 0


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_check_deadlines_in_concurrent_workers_records_each_event_once():
    policy()
    for _ in range(20):
        started()
    now = T0 + timedelta(minutes=61)
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            check_deadlines(now=now, batch_size=5)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert SLAEvent.objects.filter(kind="breached").count() == 20
    assert (
        RealtimeEvent.objects.filter(type="sla.breached", group__startswith="inbox.").count() == 20
    )
    assert Message.objects.filter(content_attributes__event="sla_breached").count() == 20


@pytest.mark.postgres
def test_due_query_uses_the_partial_indexes():
    channel = factories.ChannelFactory()
    customer = factories.CustomerFactory()
    far = T0 + timedelta(days=30)
    Conversation.objects.bulk_create(
        Conversation(
            customer=customer,
            channel=channel,
            last_activity_at=T0,
            sla_next_due_at=far + timedelta(minutes=i) if i % 2 else None,
            sla_unrecorded_due_at=far + timedelta(minutes=i) if i % 2 else None,
            sla_warn_at=far if i % 3 == 0 else None,
        )
        for i in range(5000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE conversations_conversation")
    plan = due_conversations(now=T0).values("pk").explain()
    assert "conv_sla_unrecorded" in plan and "conv_sla_warn" in plan, plan
