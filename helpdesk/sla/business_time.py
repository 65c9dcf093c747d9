"""Business-time arithmetic: pure functions over a calendar spec, no database.

A business minute is a real elapsed minute while the calendar is open. Opening periods are
wall-clock times in the calendar's time zone, so a 09:00-17:00 day is 8 real hours on any day,
while a 00:00-04:00 period on the night clocks spring forward is 3 real hours. Periods that touch
or overlap (09:00-12:00 and 12:00-17:00) merge into one stretch. A period whose end is not after
its start runs past midnight into the next day (22:00-02:00; 00:00-00:00 is a whole day).
A holiday closes the periods that *start* on that local date; a night period that started the
evening before still runs to its end. Holiday ranges (`closed_ranges`) are skipped in one step
whatever their length, never expanded day by day. `spec=None` means 24/7 (plain elapsed time).
A calendar with no periods, or closed for more than MAX_CLOSED_DAYS, has no business deadline:
`add_business_time` and `next_opening` raise NoOpeningHours (the SLA clock then runs without a
deadline, see `helpdesk.sla.clock`), `business_time_between` counts nothing.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

# A calendar with no open minute within this many days is treated as broken, not looped over.
MAX_CLOSED_DAYS = 3 * 366
ONE_DAY = timedelta(days=1)
ZERO = timedelta(0)


class NoOpeningHours(ValueError):
    """The calendar never opens (within MAX_CLOSED_DAYS), so a business deadline cannot exist."""


@dataclass(frozen=True)
class Period:
    weekday: int  # Monday = 0 ... Sunday = 6
    start: time
    end: time  # end <= start: the period runs past midnight into the next day


DateRange = tuple[date, date]  # inclusive


def merge_ranges(ranges: Iterable[DateRange]) -> tuple[DateRange, ...]:
    """Date ranges sorted and merged where they overlap or touch."""
    merged: list[DateRange] = []
    for first, last in sorted(ranges):
        if merged and first <= merged[-1][1] + ONE_DAY:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return tuple(merged)


@dataclass(frozen=True)
class CalendarSpec:
    """`holidays` are single closed dates; `closed_ranges` are closed date ranges (inclusive,
    any length, as built by `merge_ranges`: sorted, not overlapping or touching)."""

    tz: ZoneInfo
    periods: tuple[Period, ...]
    holidays: frozenset[date] = frozenset()
    closed_ranges: tuple[DateRange, ...] = ()

    def periods_on(self, weekday: int) -> list[Period]:
        return [p for p in self.periods if p.weekday == weekday]

    def closed_through(self, day: date) -> date | None:
        """The last date of the closed range holding `day`, or None when none holds it."""
        i = bisect_right(self.closed_ranges, day, key=lambda r: r[0]) - 1
        if i >= 0 and self.closed_ranges[i][1] >= day:
            return self.closed_ranges[i][1]
        return None


Window = tuple[datetime, datetime]


def _day_windows(spec: CalendarSpec, day: date) -> list[Window]:
    """Open windows (UTC) of the periods that start on local date `day`."""
    if day in spec.holidays:
        return []
    windows = []
    for period in spec.periods_on(day.weekday()):
        start = datetime.combine(day, period.start, tzinfo=spec.tz).astimezone(UTC)
        end_day = day if period.end > period.start else day + ONE_DAY
        end = datetime.combine(end_day, period.end, tzinfo=spec.tz).astimezone(UTC)
        if end > start:  # a period inside a DST gap can vanish
            windows.append((start, end))
    windows.sort()
    return windows


def open_windows(
    spec: CalendarSpec, start: datetime, *, until: datetime | None = None
) -> Iterator[Window]:
    """Disjoint open windows (UTC) after `start`, in order; the first is clipped to `start`.
    Touching windows are yielded separately (callers treat them as one stretch).

    With `until`, stops after the windows that begin before it; without, runs for ever (or
    raises NoOpeningHours when the calendar stays closed for MAX_CLOSED_DAYS)."""
    start = start.astimezone(UTC)
    if not spec.periods:
        if until is None:
            raise NoOpeningHours("The calendar has no opening hours.")
        return
    day = start.astimezone(spec.tz).date() - ONE_DAY  # a night period may reach into today
    last_day = until.astimezone(spec.tz).date() if until is not None else None
    cursor = start  # everything before it has been yielded (or lies before `start`)
    closed_days = 0
    while last_day is None or day <= last_day:
        through = spec.closed_through(day)
        if through is not None:
            # Jump over a holiday range at once: a range of decades costs one step.
            closed_days += (through - day).days + 1
            if closed_days > MAX_CLOSED_DAYS or through == date.max:
                break
            day = through + ONE_DAY
            continue
        windows = _day_windows(spec, day)
        closed_days = 0 if windows else closed_days + 1
        if closed_days > MAX_CLOSED_DAYS:
            break
        for w_start, w_end in windows:
            # Overlapping periods are clipped rather than merged, so a calendar that is always
            # open still yields one window per period instead of merging for ever.
            w_start = max(w_start, cursor)
            if w_end > w_start:
                yield (w_start, w_end)
                cursor = w_end
        day += ONE_DAY
    if last_day is None:
        raise NoOpeningHours("The calendar has no opening hours.")


def add_business_time(spec: CalendarSpec | None, start: datetime, amount: timedelta) -> datetime:
    """The instant when `amount` of business time has passed after `start` (UTC).

    A zero or negative amount returns `start`. A result that falls exactly on the end of an
    open stretch is that end, not the next opening."""
    start = start.astimezone(UTC)
    if spec is None:
        return start + amount
    if amount <= ZERO:
        return start
    remaining = amount
    for w_start, w_end in open_windows(spec, start):
        span = w_end - w_start
        if remaining <= span:
            return w_start + remaining
        remaining -= span
    raise NoOpeningHours("The calendar has no opening hours.")  # pragma: no cover


def business_time_between(spec: CalendarSpec | None, a: datetime, b: datetime) -> timedelta:
    """Business time from `a` to `b`; negative when `b` is before `a`."""
    if b < a:
        return -business_time_between(spec, b, a)
    if spec is None:
        return b - a
    total = ZERO
    for w_start, w_end in open_windows(spec, a, until=b):
        if w_start >= b:
            break
        total += min(w_end, b) - w_start
    return total


def add_business_minutes(spec: CalendarSpec | None, start: datetime, minutes: float) -> datetime:
    return add_business_time(spec, start, timedelta(minutes=minutes))


def business_minutes_between(spec: CalendarSpec | None, a: datetime, b: datetime) -> float:
    return business_time_between(spec, a, b) / timedelta(minutes=1)


def next_opening(spec: CalendarSpec | None, at: datetime) -> datetime:
    """`at` itself when open, else the start of the next open stretch."""
    at = at.astimezone(UTC)
    if spec is None:
        return at
    for w_start, _w_end in open_windows(spec, at):
        return w_start
    raise NoOpeningHours("The calendar has no opening hours.")  # pragma: no cover


def is_open(spec: CalendarSpec | None, at: datetime) -> bool:
    return next_opening(spec, at) == at.astimezone(UTC)
