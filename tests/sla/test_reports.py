"""SLA reports: attainment, median/p90 times, breaches per dimension; HTML and CSV views."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from helpdesk.conversations.models import Conversation
from helpdesk.sla import timers
from helpdesk.sla.reports import percentile, report_time_zone, sla_report
from tests.sla.support import office_calendar, policy, rule
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
        sla_report(start=DAY, end=DAY, tz=UTC)
    replied_after(5, team=factories.TeamFactory(), channel=factories.ChannelFactory())
    with django_assert_num_queries(5):
        sla_report(start=DAY, end=DAY, tz=UTC)
    with django_assert_num_queries(6):  # one more to find the default calendar's time zone
        sla_report(start=DAY, end=DAY)


def test_sla_report_states_the_time_mode_of_each_figure():
    office = policy(name="Office", calendar=office_calendar(), first_response_business=True)
    always = policy(name="Always", is_default=False, first_response_minutes=30)
    rule(always, priority=4)
    channel = factories.ChannelFactory()
    replied_after(10, channel=channel)
    replied_after(10, channel=channel, priority=4)
    report = sla_report(start=DAY, end=DAY, tz=UTC)
    modes = {r.name: r.targets["first_response"].time_mode for r in report["policy"]}
    assert modes == {office.name: "business", always.name: "24/7"}
    (by_channel,) = report["channel"]
    assert by_channel.targets["first_response"].time_mode == "mixed"
    assert by_channel.targets["resolution"].time_mode == ""  # no resolution times yet


def test_sla_report_reads_days_in_the_chosen_time_zone():
    calendar = office_calendar(tz="America/New_York")
    policy(calendar=calendar, first_response_business=False)
    late_evening = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)  # 22:00 on the 23rd in New York
    conversation = factories.ConversationFactory()
    timers.sla_on_conversation_created(conversation=conversation, at=late_evening)
    conversation = Conversation.objects.get(pk=conversation.pk)
    timers.sla_on_agent_reply(conversation=conversation, at=late_evening + timedelta(minutes=5))
    new_york = ZoneInfo("America/New_York")
    assert report_time_zone() == new_york  # the default policy's calendar
    in_new_york = sla_report(start=DAY, end=DAY)["policy"]
    assert in_new_york[0].targets["first_response"].met == 1
    assert sla_report(start=DAY, end=DAY, tz=UTC)["policy"] == []


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
    assert policy_row["first_response_time_mode"] == "24/7"
    assert policy_row["resolution_time_mode"] == ""
    assert policy_row["time_zone"] == "UTC"
    assert {r["dimension"] for r in rows} == {"policy", "channel", "team", "agent"}


def test_report_page_names_time_zone_and_time_modes_and_rejects_unknown_zones(
    client, manager, seeded
):
    client.force_login(manager)
    params = {"start": "2026-11-23", "end": "2026-11-23", "tz": "Europe/Oslo"}
    body = client.get(reverse("sla:report"), params).content.decode()
    assert "midnight to midnight in Europe/Oslo" in body
    assert "First response time mode" in body and "<td>24/7</td>" in body
    bad = client.get(reverse("sla:report_csv"), {**params, "tz": "Mars/Olympus_Mons"})
    assert bad.status_code == 400 and b"Unknown time zone" in bad.content


def test_report_csv_neutralises_formula_names(client, manager):
    policy(name="=HYPERLINK(1)")
    replied_after(10)
    client.force_login(manager)
    response = client.get(reverse("sla:report_csv"), {"start": "2026-11-23", "end": "2026-11-23"})
    assert "'=HYPERLINK(1)" in response.content.decode()


def test_report_bad_range_reason_is_plain_text_never_html(client, manager):
    client.force_login(manager)
    response = client.get(reverse("sla:report"), {"start": "<svg onload=alert(1)>"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/plain")
