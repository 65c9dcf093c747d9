"""SLA report pages for managers: an HTML table with inline SVG bars, and a CSV export."""

from __future__ import annotations

import csv
import zoneinfo
from collections.abc import Callable
from datetime import date, datetime, timedelta, tzinfo
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils.translation import gettext as _

from helpdesk.sla.models import SLATarget
from helpdesk.sla.reports import (
    ALWAYS,
    BUSINESS,
    DIMENSIONS,
    MIXED,
    TARGETS,
    UNKNOWN,
    ReportRow,
    report_time_zone,
    sla_report,
)

MAX_RANGE_DAYS = 366


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _range(request: HttpRequest) -> tuple[date, date, tzinfo]:
    """`start`/`end` (YYYY-MM-DD, inclusive; default the last 30 days) read in the time zone
    `tz` (an IANA name; default the default calendar's, see `report_time_zone`). Raises
    ValueError with a reason."""
    name = request.GET.get("tz") or ""
    if name and name not in zoneinfo.available_timezones():
        raise ValueError(_("Unknown time zone: %(tz)s") % {"tz": name})
    tz = zoneinfo.ZoneInfo(name) if name else report_time_zone()
    today = datetime.now(tz).date()
    start = date.fromisoformat(request.GET.get("start") or str(today - timedelta(days=29)))
    end = date.fromisoformat(request.GET.get("end") or str(today))
    if end < start:
        raise ValueError(_("The end date is before the start date."))
    if (end - start).days > MAX_RANGE_DAYS:
        raise ValueError(_("Choose a range of at most a year."))
    return start, end, tz


def _mode_label(mode: str) -> str:
    labels = {
        BUSINESS: _("business hours"),
        ALWAYS: _("24/7"),
        MIXED: _("mixed: business hours and 24/7"),
        UNKNOWN: _("unknown"),
    }
    return labels.get(mode, "")


def _minutes(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 60:.1f}"


def _percent(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}"


def _bad_range(exc: ValueError) -> HttpResponse:
    """400 as plain text: the reason quotes the request's own values, never as HTML."""
    return HttpResponseBadRequest(
        _("Bad date range: %(reason)s") % {"reason": exc},
        content_type="text/plain; charset=utf-8",
    )


@staff_required
def sla_report_page(request: HttpRequest) -> HttpResponse:
    try:
        start, end, tz = _range(request)
    except ValueError as exc:
        return _bad_range(exc)
    report = sla_report(start=start, end=end, tz=tz)
    titles = {
        "policy": _("By policy"),
        "channel": _("By channel"),
        "team": _("By team"),
        "agent": _("By agent"),
    }
    sections = [
        {"dimension": d, "title": titles[d], "rows": [_row_context(r) for r in report[d]]}
        for d in DIMENSIONS
    ]
    return render(
        request,
        "sla/report.html",
        {
            "start": start,
            "end": end,
            "time_zone": str(tz),
            "sections": sections,
            "targets": _target_labels(),
        },
    )


def _target_labels() -> list[dict[str, str]]:
    return [{"key": t, "label": str(SLATarget(t).label)} for t in TARGETS]


def _row_context(row: ReportRow) -> dict[str, Any]:
    first = row.targets[str(SLATarget.FIRST_RESPONSE)]
    resolution = row.targets[str(SLATarget.RESOLUTION)]
    return {
        "name": row.name,
        "key": row.key,
        "attainment": [
            {
                "key": t,
                "percent": _percent(row.targets[t].attainment),
                # Bar width in SVG user units (0-100).
                "width": round((row.targets[t].attainment or 0) * 100, 1),
            }
            for t in TARGETS
        ],
        "frt_median": _minutes(first.median),
        "frt_p90": _minutes(first.p90),
        "frt_mode": _mode_label(first.time_mode),
        "resolution_median": _minutes(resolution.median),
        "resolution_p90": _minutes(resolution.p90),
        "resolution_mode": _mode_label(resolution.time_mode),
        "breaches": row.breaches,
    }


CSV_HEADER = [
    "dimension",
    "id",
    "name",
    *[f"{t}_{col}" for t in TARGETS for col in ("met", "breached", "attainment_percent")],
    "first_response_median_minutes",
    "first_response_p90_minutes",
    "resolution_median_minutes",
    "resolution_p90_minutes",
    "breaches",
    # Appended so existing column positions stay: "business", "24/7", "mixed" or "unknown".
    "first_response_time_mode",
    "resolution_time_mode",
    "time_zone",
]


def _csv_cell(value: object) -> str:
    """Neutralise spreadsheet formulas in names (CSV injection)."""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text


@staff_required
def sla_report_csv(request: HttpRequest) -> HttpResponse:
    try:
        start, end, tz = _range(request)
    except ValueError as exc:
        return _bad_range(exc)
    report = sla_report(start=start, end=end, tz=tz)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="sla-{start}-{end}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_HEADER)
    for dimension in DIMENSIONS:
        for row in report[dimension]:
            cells: list[object] = [dimension, row.key or "", _csv_cell(row.name)]
            for t in TARGETS:
                figures = row.targets[t]
                cells += [figures.met, figures.breached, _percent(figures.attainment)]
            first = row.targets[str(SLATarget.FIRST_RESPONSE)]
            resolution = row.targets[str(SLATarget.RESOLUTION)]
            cells += [
                _minutes(first.median),
                _minutes(first.p90),
                _minutes(resolution.median),
                _minutes(resolution.p90),
                row.breaches,
                first.time_mode,
                resolution.time_mode,
                str(tz),
            ]
            writer.writerow(cells)
    return response
