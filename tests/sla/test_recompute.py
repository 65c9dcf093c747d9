"""Editing policies and calendars: stored deadlines are recomputed by a job queued from the admin;
admin refuses business-time policies on calendars that never open; and broken SLA configuration
never makes an inbound message fail."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from helpdesk.conversations.models import Conversation
from helpdesk.conversations.services import InboundMessage, message_receive_inbound
from helpdesk.sla import recompute, tasks
from helpdesk.sla.models import BusinessCalendar, Holiday, OpeningPeriod, SLAPolicy
from helpdesk.sla.policies import calendar_spec
from helpdesk.sla.recompute import sla_deadlines_recompute
from tests.sla.support import fresh, office_calendar, policy, started

pytestmark = pytest.mark.django_db

OSLO = ZoneInfo("Europe/Oslo")
T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday
FRIDAY = datetime(2026, 11, 20, 16, 30, tzinfo=OSLO)


def test_sla_deadlines_recompute_applies_a_shorter_target_once():
    standard = policy()
    conversation = started()
    SLAPolicy.objects.filter(pk=standard.pk).update(first_response_minutes=30)
    progress = sla_deadlines_recompute(policy_ids=[standard.pk], now=T0 + timedelta(minutes=10))
    assert (progress.updated, progress.resume_after) == (1, None)
    updated = fresh(conversation)
    assert updated.first_response_due_at == T0 + timedelta(minutes=30)
    assert updated.sla_next_due_at == updated.sla_unrecorded_due_at == T0 + timedelta(minutes=30)
    assert updated.sla_warn_at == T0 + timedelta(minutes=24)
    again = sla_deadlines_recompute(policy_ids=[standard.pk], now=T0 + timedelta(minutes=20))
    assert again.updated == 0


def test_sla_deadlines_recompute_follows_a_new_holiday_and_skips_other_conversations():
    calendar = office_calendar()
    business = policy(calendar=calendar)
    other = policy(name="Other", is_default=False)
    conversation = started(FRIDAY)
    assert conversation.first_response_due_at == datetime(2026, 11, 23, 9, 30, tzinfo=OSLO)
    untouched = started(FRIDAY)
    Conversation.objects.filter(pk=untouched.pk).update(sla_policy=other)
    resolved = started(FRIDAY)
    Conversation.objects.filter(pk=resolved.pk).update(status="resolved")
    Holiday.objects.create(calendar=calendar, name="Closed", start_date=date(2026, 11, 23))
    assert sla_deadlines_recompute(policy_ids=[business.pk]).updated == 1
    assert fresh(conversation).first_response_due_at == datetime(2026, 11, 24, 9, 30, tzinfo=OSLO)
    assert fresh(untouched).first_response_due_at == conversation.first_response_due_at
    assert fresh(resolved).first_response_due_at == conversation.first_response_due_at


def test_sla_deadlines_recompute_drops_a_removed_target_and_keeps_recorded_breaches():
    standard = policy()
    conversation = started()
    tasks.check_deadlines(now=T0 + timedelta(minutes=61))  # first response breached
    SLAPolicy.objects.filter(pk=standard.pk).update(resolution_minutes=None)
    sla_deadlines_recompute(policy_ids=[standard.pk], now=T0 + timedelta(minutes=62))
    updated = fresh(conversation)
    assert updated.resolution_due_at is None
    assert updated.sla_state["targets"]["first_response"]["breached"] is True
    assert updated.sla_next_due_at == T0 + timedelta(minutes=60)
    assert updated.sla_unrecorded_due_at is None


def test_sla_deadlines_recompute_works_in_chunks_and_resumes_after_its_time_budget():
    standard = policy()
    conversations = [started() for _ in range(5)]
    SLAPolicy.objects.filter(pk=standard.pk).update(first_response_minutes=30)
    first = sla_deadlines_recompute(policy_ids=[standard.pk], chunk_size=2, time_budget=0)
    assert (first.updated, first.resume_after) == (2, conversations[1].pk)
    rest = sla_deadlines_recompute(policy_ids=[standard.pk], after=first.resume_after, chunk_size=2)
    assert (rest.updated, rest.resume_after) == (3, None)
    assert {fresh(c).first_response_due_at for c in conversations} == {T0 + timedelta(minutes=30)}


def test_recompute_deadlines_job_queues_its_own_continuation(monkeypatch):
    standard = policy()
    conversations = [started() for _ in range(5)]
    SLAPolicy.objects.filter(pk=standard.pk).update(first_response_minutes=30)
    monkeypatch.setattr(recompute, "CHUNK_SIZE", 2)
    monkeypatch.setattr(tasks, "TIME_BUDGET_SECONDS", 0)
    tasks.recompute_deadlines([standard.pk])  # jobs run inline in tests
    assert {fresh(c).first_response_due_at for c in conversations} == {T0 + timedelta(minutes=30)}


# --- Admin -------------------------------------------------------------------------------------


def policy_form(standard: SLAPolicy, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": standard.name,
        "is_default": "on" if standard.is_default else "",
        "calendar": standard.calendar_id or "",
        "warn_percent": standard.warn_percent,
        "rules-TOTAL_FORMS": 0,
        "rules-INITIAL_FORMS": 0,
    }
    for target in ("first_response", "next_response", "resolution"):
        data[f"{target}_minutes"] = getattr(standard, f"{target}_minutes") or ""
        if getattr(standard, f"{target}_business"):
            data[f"{target}_business"] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def calendar_form(
    calendar: BusinessCalendar,
    *,
    holidays: list[date | tuple[date, date]] = (),
    delete_periods=False,
):
    periods = list(calendar.periods.all())
    data: dict[str, Any] = {
        "name": calendar.name,
        "time_zone": calendar.time_zone,
        "periods-TOTAL_FORMS": len(periods),
        "periods-INITIAL_FORMS": len(periods),
        "holidays-TOTAL_FORMS": len(holidays),
        "holidays-INITIAL_FORMS": 0,
    }
    for i, period in enumerate(periods):
        data[f"periods-{i}-id"] = period.pk
        data[f"periods-{i}-calendar"] = calendar.pk
        data[f"periods-{i}-weekday"] = period.weekday
        data[f"periods-{i}-start_time"] = period.start_time.strftime("%H:%M")
        data[f"periods-{i}-end_time"] = period.end_time.strftime("%H:%M")
        if delete_periods:
            data[f"periods-{i}-DELETE"] = "on"
    for i, day in enumerate(holidays):
        first, last = day if isinstance(day, tuple) else (day, None)
        data[f"holidays-{i}-calendar"] = calendar.pk
        data[f"holidays-{i}-name"] = "Closed"
        data[f"holidays-{i}-start_date"] = first.isoformat()
        if last is not None:
            data[f"holidays-{i}-end_date"] = last.isoformat()
    return data


def test_policy_admin_save_recomputes_open_conversations_after_commit(
    client, manager, django_capture_on_commit_callbacks
):
    standard = policy()
    conversation = started()
    client.force_login(manager)
    url = reverse("admin:sla_slapolicy_change", args=[standard.pk])
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(url, policy_form(standard, first_response_minutes=30))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert len(callbacks) == 1
    assert fresh(conversation).first_response_due_at == T0 + timedelta(minutes=30)
    with django_capture_on_commit_callbacks() as unchanged:
        client.post(url, policy_form(SLAPolicy.objects.get(pk=standard.pk)))
    assert unchanged == []  # a save without changes queues nothing


def test_calendar_admin_save_with_a_new_holiday_recomputes(
    client, manager, django_capture_on_commit_callbacks
):
    calendar = office_calendar()
    policy(calendar=calendar)
    conversation = started(FRIDAY)
    client.force_login(manager)
    url = reverse("admin:sla_businesscalendar_change", args=[calendar.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, calendar_form(calendar, holidays=[date(2026, 11, 23)]))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert fresh(conversation).first_response_due_at == datetime(2026, 11, 24, 9, 30, tzinfo=OSLO)


def test_calendar_admin_refuses_a_holiday_longer_than_a_year(client, manager):
    calendar = office_calendar()
    client.force_login(manager)
    url = reverse("admin:sla_businesscalendar_change", args=[calendar.pk])
    typo = (date(2026, 12, 24), date(2062, 12, 26))
    response = client.post(url, calendar_form(calendar, holidays=[typo]))
    assert response.status_code == 200
    assert "A holiday can last at most 366 days; this one lasts 13152." in response.content.decode()
    assert not Holiday.objects.exists()
    leap_year = (date(2028, 1, 1), date(2028, 12, 31))
    assert client.post(url, calendar_form(calendar, holidays=[leap_year])).status_code == 302
    assert Holiday.objects.get().end_date == date(2028, 12, 31)


def test_calendar_spec_keeps_a_holiday_range_as_a_range():
    calendar = office_calendar()
    Holiday.objects.create(
        calendar=calendar, name="Forever", start_date=date(2000, 1, 1), end_date=date.max
    )
    Holiday.objects.create(calendar=calendar, name="Day", start_date=date(1999, 12, 31))
    spec = calendar_spec(calendar)
    assert spec.holidays == {date(1999, 12, 31)}
    assert spec.closed_ranges == ((date(2000, 1, 1), date.max),)


def test_policy_admin_refuses_business_targets_on_a_calendar_without_periods(client, manager):
    empty = BusinessCalendar.objects.create(name="Empty")
    client.force_login(manager)
    draft = SLAPolicy(name="Office", first_response_minutes=60, calendar=empty)
    response = client.post(reverse("admin:sla_slapolicy_add"), policy_form(draft))
    assert response.status_code == 200
    assert "has no opening periods" in response.content.decode()
    assert not SLAPolicy.objects.exists()
    always = SLAPolicy(name="Always", first_response_minutes=60, calendar=empty)
    always.first_response_business = always.next_response_business = False
    always.resolution_business = False
    assert client.post(reverse("admin:sla_slapolicy_add"), policy_form(always)).status_code == 302


def test_calendar_admin_refuses_removing_the_last_period_of_a_business_calendar(client, manager):
    calendar = office_calendar()
    policy(name="Office", calendar=calendar)
    client.force_login(manager)
    url = reverse("admin:sla_businesscalendar_change", args=[calendar.pk])
    response = client.post(url, calendar_form(calendar, delete_periods=True))
    assert response.status_code == 200
    assert "it needs at least one opening period" in response.content.decode()
    assert OpeningPeriod.objects.filter(calendar=calendar).count() == 5


# --- Broken configuration never fails a message ------------------------------------------------


def never_open(kind: str) -> BusinessCalendar:
    if kind == "no periods":
        return BusinessCalendar.objects.create(name=kind)
    if kind == "unknown time zone":
        calendar = office_calendar(name=kind)
        BusinessCalendar.objects.filter(pk=calendar.pk).update(time_zone="Mars/Olympus_Mons")
        return calendar
    calendar = office_calendar(name=kind)  # closed for longer than MAX_CLOSED_DAYS
    last = date.max if kind == "closed until the end of time" else date(2031, 1, 1)
    Holiday.objects.create(
        calendar=calendar, name="Closed", start_date=date(2020, 1, 1), end_date=last
    )
    return calendar


@pytest.mark.parametrize(
    "kind",
    ["no periods", "unknown time zone", "closed for four years", "closed until the end of time"],
)
def test_inbound_message_with_a_calendar_that_never_opens_is_stored_without_deadline(
    kind, widget_channel, caplog
):
    policy(calendar=never_open(kind), resolution_business=False)
    inbound = InboundMessage(
        identity_kind="email", identity_address="a@example.test", text="hi", external_id="m1"
    )
    with caplog.at_level(logging.WARNING, logger="helpdesk.sla"):
        result = message_receive_inbound(channel=widget_channel, inbound=inbound)
    conversation = fresh(result.message.conversation)
    assert conversation.first_response_due_at is None  # business time: no deadline
    assert conversation.resolution_due_at is not None  # 24/7 targets still run
    assert "run without a deadline" in caplog.text
