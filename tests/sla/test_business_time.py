"""Business-time arithmetic: examples for each rule, then properties checked by hypothesis around
the DST changes of Europe/Oslo and America/New_York, with holidays and night periods."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpdesk.sla import business_time
from helpdesk.sla.business_time import (
    MAX_CLOSED_DAYS,
    CalendarSpec,
    NoOpeningHours,
    Period,
    add_business_minutes,
    add_business_time,
    business_minutes_between,
    business_time_between,
    is_open,
    merge_ranges,
    next_opening,
)

OSLO = ZoneInfo("Europe/Oslo")
NEW_YORK = ZoneInfo("America/New_York")


def office(tz: ZoneInfo = OSLO, holidays: frozenset[date] = frozenset()) -> CalendarSpec:
    """Mon-Fri 09:00-12:00 and 12:30-17:00."""
    periods = []
    for wd in range(5):
        periods += [Period(wd, time(9), time(12)), Period(wd, time(12, 30), time(17))]
    return CalendarSpec(tz=tz, periods=tuple(periods), holidays=holidays)


def local(tz: ZoneInfo, *args: int) -> datetime:
    return datetime(*args, tzinfo=tz)


def test_add_business_minutes_skips_lunch_evening_and_weekend():
    friday = local(OSLO, 2026, 11, 20, 16, 30)
    assert add_business_minutes(office(), friday, 60) == local(OSLO, 2026, 11, 23, 9, 30)
    before_lunch = local(OSLO, 2026, 11, 23, 11, 30)
    assert add_business_minutes(office(), before_lunch, 60) == local(OSLO, 2026, 11, 23, 13, 0)


def test_add_business_minutes_skips_holiday_dates_and_ranges():
    holidays = frozenset({date(2026, 11, 23)} | {date(2026, 11, 24) + timedelta(d) for d in (0, 1)})
    friday = local(OSLO, 2026, 11, 20, 16, 30)
    assert add_business_minutes(office(holidays=holidays), friday, 60) == local(
        OSLO, 2026, 11, 26, 9, 30
    )


def test_add_business_minutes_ending_exactly_at_close_stays_at_close():
    start = local(OSLO, 2026, 11, 23, 16, 0)
    assert add_business_minutes(office(), start, 60) == local(OSLO, 2026, 11, 23, 17, 0)


def test_touching_periods_count_as_one_stretch():
    spec = CalendarSpec(
        tz=OSLO, periods=(Period(0, time(9), time(12)), Period(0, time(12), time(17)))
    )
    start = local(OSLO, 2026, 11, 23, 11, 0)
    assert add_business_minutes(spec, start, 180) == local(OSLO, 2026, 11, 23, 14, 0)
    assert business_minutes_between(spec, start, local(OSLO, 2026, 11, 23, 13, 0)) == 120


def test_night_period_crosses_midnight_into_the_next_day():
    spec = CalendarSpec(tz=OSLO, periods=(Period(4, time(22), time(2)),))  # Friday night
    start = local(OSLO, 2026, 11, 20, 23, 0)
    assert add_business_minutes(spec, start, 150) == local(OSLO, 2026, 11, 21, 1, 30)
    assert add_business_minutes(spec, start, 200) == local(OSLO, 2026, 11, 27, 22, 20)
    saturday = local(OSLO, 2026, 11, 21, 1, 0)
    assert is_open(spec, saturday)
    assert business_minutes_between(spec, start, local(OSLO, 2026, 11, 21, 12, 0)) == 180


def test_holiday_closes_periods_starting_that_day_but_not_the_night_before():
    spec = CalendarSpec(
        tz=OSLO,
        periods=(Period(3, time(22), time(2)), Period(4, time(8), time(10))),
        holidays=frozenset({date(2026, 11, 20)}),  # the Friday
    )
    thursday = local(OSLO, 2026, 11, 19, 22, 0)
    friday_noon = local(OSLO, 2026, 11, 20, 12, 0)
    assert business_minutes_between(spec, thursday, friday_noon) == 240


def test_long_holiday_range_is_skipped_in_one_step_not_day_by_day(monkeypatch):
    days_looked_at: list[date] = []
    day_windows = business_time._day_windows
    monkeypatch.setattr(
        business_time,
        "_day_windows",
        lambda spec, day: days_looked_at.append(day) or day_windows(spec, day),
    )
    closed = (date(2026, 11, 23), date(2026, 11, 23) + timedelta(days=MAX_CLOSED_DAYS - 10))
    spec = CalendarSpec(tz=OSLO, periods=office().periods, closed_ranges=merge_ranges([closed]))
    friday = local(OSLO, 2026, 11, 20, 16, 30)
    reopening = closed[1] + timedelta(days=1)
    while reopening.weekday() > 4:
        reopening += timedelta(days=1)
    assert add_business_minutes(spec, friday, 60) == datetime.combine(
        reopening, time(9, 30), tzinfo=OSLO
    )
    assert len(days_looked_at) < 20
    ages = CalendarSpec(
        tz=OSLO, periods=office().periods, closed_ranges=((date(2000, 1, 1), date.max),)
    )
    with pytest.raises(NoOpeningHours):
        add_business_minutes(ages, friday, 60)
    assert business_time_between(ages, friday, friday + timedelta(days=365 * 50)) == timedelta(0)


def test_merge_ranges_sorts_and_joins_overlapping_and_touching_ranges():
    d = date(2026, 1, 1)
    ranges = [
        (d + timedelta(9), d + timedelta(12)),
        (d, d + timedelta(3)),
        (d + timedelta(2), d + timedelta(4)),
        (d + timedelta(5), d + timedelta(6)),
    ]
    assert merge_ranges(ranges) == ((d, d + timedelta(6)), (d + timedelta(9), d + timedelta(12)))


def test_dst_spring_forward_night_period_is_three_real_hours_oslo():
    sunday = date(2026, 3, 29)  # 02:00 -> 03:00 in Oslo
    spec = CalendarSpec(tz=OSLO, periods=(Period(6, time(0), time(4)),))
    a = datetime.combine(sunday, time(0), tzinfo=OSLO)
    b = datetime.combine(sunday, time(5), tzinfo=OSLO)
    assert business_time_between(spec, a, b) == timedelta(hours=3)


def test_dst_fall_back_night_period_is_five_real_hours_new_york():
    sunday = date(2026, 11, 1)  # 02:00 -> 01:00 in New York
    spec = CalendarSpec(tz=NEW_YORK, periods=(Period(6, time(0), time(4)),))
    a = datetime.combine(sunday, time(0), tzinfo=NEW_YORK)
    assert add_business_time(spec, a, timedelta(hours=5)) == datetime.combine(
        sunday, time(4), tzinfo=NEW_YORK
    )


def test_office_hours_after_dst_keep_local_wall_clock():
    friday = local(NEW_YORK, 2026, 3, 6, 16, 0)  # DST starts Sunday 8 March
    due = add_business_minutes(office(NEW_YORK), friday, 120)
    assert due.astimezone(NEW_YORK) == local(NEW_YORK, 2026, 3, 9, 10, 0)
    assert due.astimezone(NEW_YORK).utcoffset() == timedelta(hours=-4)


def test_next_opening_and_24_7():
    saturday = local(OSLO, 2026, 11, 21, 10, 0)
    assert next_opening(office(), saturday) == local(OSLO, 2026, 11, 23, 9, 0)
    assert add_business_minutes(None, saturday, 90) == saturday + timedelta(minutes=90)
    assert next_opening(None, saturday) == saturday


def test_calendar_without_periods_raises_clearly():
    with pytest.raises(NoOpeningHours):
        add_business_minutes(CalendarSpec(tz=OSLO, periods=()), local(OSLO, 2026, 1, 1), 1)


def test_between_is_negative_when_reversed():
    a, b = local(OSLO, 2026, 11, 23, 9), local(OSLO, 2026, 11, 23, 10)
    assert business_minutes_between(office(), b, a) == -60


# --- Properties --------------------------------------------------------------------------------

ZONES = st.sampled_from([OSLO, NEW_YORK])
# Days around the 2026 DST changes of both zones.
DST_DAYS = [date(2026, 3, 8), date(2026, 3, 29), date(2026, 10, 25), date(2026, 11, 1)]

minute_of_day = st.integers(min_value=0, max_value=24 * 4 - 1).map(
    lambda q: time(q // 4, (q % 4) * 15)
)
periods = st.lists(
    st.builds(Period, st.integers(0, 6), minute_of_day, minute_of_day), min_size=1, max_size=8
)


@st.composite
def calendars(draw: st.DrawFn) -> CalendarSpec:
    tz = draw(ZONES)
    chosen = draw(periods)
    base = draw(st.sampled_from(DST_DAYS))
    holidays = draw(
        st.sets(st.integers(-5, 10).map(lambda d: base + timedelta(days=d)), max_size=4)
    )
    return CalendarSpec(tz=tz, periods=tuple(chosen), holidays=frozenset(holidays))


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    base = draw(st.sampled_from(DST_DAYS))
    midnight = datetime.combine(base, time(0), tzinfo=UTC)
    return midnight + timedelta(minutes=draw(st.integers(-5 * 1440, 5 * 1440)))


PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(calendars(), instants(), st.integers(0, 6000))
def test_property_between_inverts_add(spec, start, minutes):
    due = add_business_minutes(spec, start, minutes)
    assert due >= start
    assert business_time_between(spec, start, due) == timedelta(minutes=minutes)


@PROPERTY
@given(calendars(), instants(), st.integers(0, 3000), st.integers(0, 3000))
def test_property_add_is_monotonic_and_composes(spec, start, m1, m2):
    first = add_business_minutes(spec, start, m1)
    both = add_business_minutes(spec, start, m1 + m2)
    assert first <= both
    # Adding in two steps lands on the same instant as adding once.
    assert add_business_minutes(spec, first, m2) == both


@PROPERTY
@given(calendars(), instants(), st.integers(0, 8000), st.integers(0, 8000))
def test_property_between_is_additive_and_bounded(spec, a, m1, m2):
    b = a + timedelta(minutes=m1)
    c = b + timedelta(minutes=m2)
    ab, bc, ac = (business_time_between(spec, x, y) for x, y in ((a, b), (b, c), (a, c)))
    assert ab + bc == ac
    assert timedelta(0) <= ab <= b - a


@PROPERTY
@given(ZONES, instants(), st.integers(0, 8000))
def test_property_always_open_calendar_is_real_elapsed_time_across_dst(tz, a, minutes):
    spec = CalendarSpec(tz=tz, periods=tuple(Period(d, time(0), time(0)) for d in range(7)))
    b = a + timedelta(minutes=minutes)
    assert business_time_between(spec, a, b) == b - a
    assert add_business_minutes(spec, a, minutes) == b


# Open weekdays (Mon-Fri) within a week of each DST change: a holiday there has hours to close.
DST_WEEKDAYS = sorted(
    {
        base + timedelta(days=d)
        for base in DST_DAYS
        for d in range(-7, 8)
        if (base + timedelta(days=d)).weekday() < 5
    }
)


@st.composite
def closed_ranges(draw: st.DrawFn) -> list[tuple[date, date]]:
    base = draw(st.sampled_from(DST_DAYS))
    starts = st.integers(-10, 20).map(lambda d: base + timedelta(days=d))
    return draw(
        st.lists(
            st.tuples(starts, st.integers(0, 12)).map(lambda r: (r[0], r[0] + timedelta(r[1]))),
            max_size=4,
        )
    )


@PROPERTY
@given(calendars(), closed_ranges(), instants(), st.integers(0, 6000), st.integers(0, 8000))
def test_property_closed_ranges_equal_their_dates_as_holidays(spec, ranges, a, minutes, span):
    as_ranges = CalendarSpec(
        tz=spec.tz, periods=spec.periods, holidays=spec.holidays, closed_ranges=merge_ranges(ranges)
    )
    dates = {first + timedelta(d) for first, last in ranges for d in range((last - first).days + 1)}
    as_dates = CalendarSpec(tz=spec.tz, periods=spec.periods, holidays=spec.holidays | dates)
    b = a + timedelta(minutes=span)
    assert business_time_between(as_ranges, a, b) == business_time_between(as_dates, a, b)
    assert add_business_minutes(as_ranges, a, minutes) == add_business_minutes(as_dates, a, minutes)


@PROPERTY
@given(ZONES, st.sampled_from(DST_WEEKDAYS), st.integers(0, 2000))
def test_property_holiday_dates_hold_no_business_time(tz, holiday, minutes):
    day_start = datetime.combine(holiday, time(0), tzinfo=tz)
    day_end = datetime.combine(holiday + timedelta(days=1), time(0), tzinfo=tz)
    # The same day without the holiday is a full office day, so the check below can fail.
    assert business_time_between(office(tz), day_start, day_end) == timedelta(hours=7, minutes=30)
    spec = office(tz, holidays=frozenset({holiday}))
    assert business_time_between(spec, day_start, day_end) == timedelta(0)
    assert not is_open(spec, datetime.combine(holiday, time(10), tzinfo=tz))
    due = add_business_minutes(spec, day_start, minutes + 1)
    assert due.astimezone(tz).date() != holiday


# --- Brute-force reference ---------------------------------------------------------------------


def reference_windows(
    spec: CalendarSpec, first: date, last: date
) -> list[tuple[datetime, datetime]]:
    """Every period occurrence starting on local dates first..last (not holidays) as a UTC
    interval, sorted and merged where they overlap or touch: the definition, without the
    implementation's clipping or early exits."""
    raw = []
    day = first
    while day <= last:
        if day not in spec.holidays:
            for p in spec.periods:
                if p.weekday != day.weekday():
                    continue
                end_day = day if p.end > p.start else day + timedelta(days=1)
                start = datetime.combine(day, p.start, tzinfo=spec.tz).astimezone(UTC)
                end = datetime.combine(end_day, p.end, tzinfo=spec.tz).astimezone(UTC)
                if end > start:
                    raw.append((start, end))
        day += timedelta(days=1)
    merged: list[list[datetime]] = []
    for start, end in sorted(raw):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [(a, b) for a, b in merged]


def reference_between(windows, a: datetime, b: datetime) -> float:
    total = timedelta(0)
    for start, end in windows:
        total += max(min(end, b) - max(start, a), timedelta(0))
    return total / timedelta(minutes=1)


def reference_add(windows, a: datetime, minutes: int) -> datetime | None:
    remaining = timedelta(minutes=minutes)
    if remaining == timedelta(0):
        return a
    for start, end in windows:
        if end <= a:
            continue
        start = max(start, a)
        if remaining <= end - start:
            return start + remaining
        remaining -= end - start
    return None  # beyond the reference horizon


NIGHT = Period(4, time(22), time(2))  # Friday 22:00 - Saturday 02:00


@st.composite
def reference_cases(draw: st.DrawFn) -> tuple[CalendarSpec, datetime]:
    """A calendar that always has the night period, with holidays in the fortnight after the
    start (where they change the answers), and a start instant near a DST change."""
    tz = draw(ZONES)
    start = draw(instants())
    first = start.astimezone(tz).date()
    holidays = draw(
        st.sets(st.integers(-1, 14).map(lambda d: first + timedelta(days=d)), max_size=5)
    )
    spec = CalendarSpec(tz=tz, periods=(*draw(periods), NIGHT), holidays=frozenset(holidays))
    return spec, start


REFERENCE = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@REFERENCE
@given(reference_cases(), st.integers(0, 3000), st.integers(0, 6000))
def test_property_matches_brute_force_reference(case, minutes, span):
    spec, start = case
    local_start = start.astimezone(spec.tz).date()
    windows = reference_windows(spec, local_start - timedelta(days=2), local_start + timedelta(200))
    end = start + timedelta(minutes=span)
    assert business_minutes_between(spec, start, end) == reference_between(windows, start, end)
    expected = reference_add(windows, start, minutes)
    assert expected is not None  # the night period opens 4 h a week: 200 days is ample
    assert add_business_minutes(spec, start, minutes) == expected
