"""SLA report selector: attainment, response/resolution times and breaches for a date range,
per policy, channel, team and agent. Five queries whatever the data (events + one per name
table), plus one to find the default time zone when none is given; percentiles are computed in
Python from the `elapsed_seconds` of completions, which are in each target's time mode
(business time where the policy ran the target on a calendar, else 24/7). Each time figure
says its mode ("business", "24/7", or "mixed" when a row combines both), because a business-time
median and a 24/7 median are not the same quantity. The date range is read in one time zone:
the one asked for, else the default policy's calendar's, else the server's."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth import get_user_model

from helpdesk.agents.models import Team
from helpdesk.inboxes.models import Channel
from helpdesk.sla.models import SLAEvent, SLAEventKind, SLAPolicy, SLATarget

DIMENSIONS = ("policy", "channel", "team", "agent")
TARGETS = [str(t) for t in SLATarget]
BUSINESS, ALWAYS, MIXED, UNKNOWN = "business", "24/7", "mixed", "unknown"


def percentile(values: list[int], fraction: float) -> float | None:
    """Linear-interpolated percentile (0.5 = median); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    if fraction == 0.5:
        return float(statistics.median(ordered))
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


@dataclass
class TargetFigures:
    met: int = 0
    breached: int = 0
    warnings: int = 0
    times: list[int] = field(default_factory=list)
    modes: set[str] = field(default_factory=set)

    @property
    def time_mode(self) -> str:
        """The time mode of `median` and `p90`: "business", "24/7", "mixed", "unknown" (older
        events whose policy is gone), or "" when there are no times."""
        if not self.modes:
            return ""
        return next(iter(self.modes)) if len(self.modes) == 1 else MIXED

    @property
    def attainment(self) -> float | None:
        """Share of target cycles decided in the range that were met in time (0..1)."""
        decided = self.met + self.breached
        return self.met / decided if decided else None

    @property
    def median(self) -> float | None:
        return percentile(self.times, 0.5)

    @property
    def p90(self) -> float | None:
        return percentile(self.times, 0.9)


@dataclass
class ReportRow:
    dimension: str
    key: int | None
    name: str
    targets: dict[str, TargetFigures] = field(
        default_factory=lambda: {t: TargetFigures() for t in TARGETS}
    )

    @property
    def breaches(self) -> int:
        return sum(f.breached for f in self.targets.values())


def report_time_zone() -> tzinfo:
    """The default time zone of reports: the default policy's calendar's, else the server's."""
    name = (
        SLAPolicy.objects.filter(is_default=True, calendar__isnull=False)
        .values_list("calendar__time_zone", flat=True)
        .first()
    )
    try:
        return ZoneInfo(name or settings.TIME_ZONE)
    except (ValueError, KeyError):  # an unknown stored zone: fall back to the server's
        return ZoneInfo(settings.TIME_ZONE)


def range_bounds(start: date, end: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) in `tz`: `end` is inclusive."""
    return (
        datetime.combine(start, time(0), tzinfo=tz),
        datetime.combine(end + timedelta(days=1), time(0), tzinfo=tz),
    )


def _names(dimension: str, keys: Iterable[int]) -> dict[int, str]:
    ids = [k for k in keys if k is not None]
    if dimension == "policy":
        return dict(SLAPolicy.objects.filter(pk__in=ids).values_list("pk", "name"))
    if dimension == "channel":
        return dict(Channel.objects.filter(pk__in=ids).values_list("pk", "name"))
    if dimension == "team":
        return dict(Team.objects.filter(pk__in=ids).values_list("pk", "name"))
    users = get_user_model().objects.filter(pk__in=ids).select_related("agent_profile")
    return {
        u.pk: getattr(getattr(u, "agent_profile", None), "display_name", "") or u.get_username()
        for u in users
    }


def sla_report(*, start: date, end: date, tz: tzinfo | None = None) -> dict[str, list[ReportRow]]:
    """Rows per dimension, sorted by name; a row with key None collects events without that
    dimension (no team, unassigned, deleted policy). Days run from midnight to midnight in
    `tz` (default: `report_time_zone()`)."""
    low, high = range_bounds(start, end, tz or report_time_zone())
    events = SLAEvent.objects.filter(occurred_at__gte=low, occurred_at__lt=high).values_list(
        "target",
        "kind",
        "elapsed_seconds",
        "business_time",
        "policy_id",
        "channel_id",
        "team_id",
        "assignee_id",
    )
    rows: dict[str, dict[int | None, ReportRow]] = {d: {} for d in DIMENSIONS}
    for target, kind, elapsed, business, *keys in events.iterator(chunk_size=2000):
        for dimension, key in zip(DIMENSIONS, keys, strict=True):
            row = rows[dimension].get(key)
            if row is None:
                row = rows[dimension][key] = ReportRow(dimension=dimension, key=key, name="")
            figures = row.targets[target]
            if kind == SLAEventKind.MET:
                figures.met += 1
            elif kind == SLAEventKind.BREACHED:
                figures.breached += 1
            elif kind == SLAEventKind.WARNING:
                figures.warnings += 1
            if kind in (SLAEventKind.MET, SLAEventKind.MET_LATE) and elapsed is not None:
                figures.times.append(elapsed)
                figures.modes.add(UNKNOWN if business is None else BUSINESS if business else ALWAYS)
    result: dict[str, list[ReportRow]] = {}
    for dimension in DIMENSIONS:
        names = _names(dimension, rows[dimension].keys())
        for key, row in rows[dimension].items():
            row.name = names.get(key, "") if key is not None else ""
        result[dimension] = sorted(rows[dimension].values(), key=lambda r: (r.key is None, r.name))
    return result
