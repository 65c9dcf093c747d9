"""SLA reports: attainment, median/p90 times, breaches per dimension; HTML and CSV views."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from helpdesk.conversations.models import Conversation
from helpdesk.sla import timers
from helpdesk.sla.reports import percentile, sla_report
from tests.sla.support import policy
from tests.support import factories

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
DAY = date(2026, 11, 23)


def replied_after(minutes: int, **kwargs) -> Conversation:
    conversation = factories.ConversationFactory(**kwargs)
    timers.sla_on_conversation_created(conversation=conversation, at=T0)
    conversation = Conversation.objects.get(pk=conversation.pk)
    timers.sla_on_agent_reply(conversation=conversation, at=T0 + timedelta(minutes=minutes))
    return conversation


@pytest.fixture
def seeded(agent):
    standard = policy()
    team = factories.TeamFactory(name="Support")
    for minutes in (10, 20, 30, 90):
        replied_after(minutes, team=team, assignee=agent)
    return standard, team


def test_percentile_interpolates():
    assert percentile([], 0.9) is None
    assert percentile([5], 0.9) == 5
    assert percentile([10, 20, 30, 90], 0.5) == 25
    assert percentile(list(range(1, 11)), 0.9) == pytest.approx(9.1)


def test_sla_report_attainment_times_and_breaches_per_dimension(seeded, agent):
    standard, _team = seeded
    report = sla_report(start=DAY, end=DAY)
    (by_policy,) = report["policy"]
    assert by_policy.name == standard.name
    first = by_policy.targets["first_response"]
    assert (first.met, first.breached) == (3, 1)
    assert first.attainment == 0.75
    assert first.median == 25 * 60
    assert first.p90 == pytest.approx(72 * 60)
    assert by_policy.breaches == 1
    assert [r.name for r in report["team"]] == ["Support"]
    assert report["agent"][0].key == agent.pk
    assert sla_report(start=DAY + timedelta(days=1), end=DAY + timedelta(days=2))["policy"] == []


def test_sla_report_query_count_is_constant(seeded, django_assert_num_queries):
    with django_assert_num_queries(5):
        sla_report(start=DAY, end=DAY)
    replied_after(5, team=factories.TeamFactory(), channel=factories.ChannelFactory())
    with django_assert_num_queries(5):
        sla_report(start=DAY, end=DAY)


def test_report_page_needs_staff(client, agent):
    url = reverse("sla:report")
    assert client.get(url).status_code == 302
    client.force_login(agent)
    assert client.get(url).status_code == 403


def test_report_page_shows_table_and_svg_chart(client, manager, seeded):
    client.force_login(manager)
    response = client.get(reverse("sla:report"), {"start": "2026-11-23", "end": "2026-11-23"})
    assert response.status_code == 200
    body = response.content.decode()
    assert "<svg" in body and 'width="75.0"' in body
    assert "Support" in body


def test_report_page_rejects_bad_range_with_reason(client, manager):
    client.force_login(manager)
    response = client.get(reverse("sla:report"), {"start": "2026-11-23", "end": "2026-11-01"})
    assert response.status_code == 400
    assert b"before the start" in response.content
    assert client.get(reverse("sla:report_csv"), {"start": "nope"}).status_code == 400


def test_report_csv_export(client, manager, seeded):
    client.force_login(manager)
    response = client.get(reverse("sla:report_csv"), {"start": "2026-11-23", "end": "2026-11-23"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    policy_row = next(r for r in rows if r["dimension"] == "policy")
    assert policy_row["first_response_attainment_percent"] == "75.0"
    assert policy_row["first_response_median_minutes"] == "25.0"
    assert policy_row["breaches"] == "1"
    assert {r["dimension"] for r in rows} == {"policy", "channel", "team", "agent"}


def test_report_csv_neutralises_formula_names(client, manager):
    policy(name="=HYPERLINK(1)")
    replied_after(10)
    client.force_login(manager)
    response = client.get(reverse("sla:report_csv"), {"start": "2026-11-23", "end": "2026-11-23"})
    assert "'=HYPERLINK(1)" in response.content.decode()
