"""Which SLA policy applies to a conversation, and what its targets mean in time.

Reads and checks only. `load_policies()` fetches every policy with its calendar and rules in a fixed
number of queries (one when no policy exists), so timers stay cheap on every message.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from helpdesk.conversations.models import Conversation
from helpdesk.sla.business_time import CalendarSpec, DateRange, Period, merge_ranges
from helpdesk.sla.models import BusinessCalendar, SLAPolicy, SLARule, SLATarget

logger = logging.getLogger(__name__)

# Longest holiday row the admin accepts (a whole leap year). Longer closures take several rows;
# business-time code copes with any length (see business_time), this keeps mistakes visible.
MAX_HOLIDAY_DAYS = 366


@dataclass(frozen=True)
class TargetSpec:
    """One target of a policy: its length, the calendar it runs on (None = 24/7) and when it
    warns (as a fraction of the length, None = never)."""

    length: timedelta
    calendar: CalendarSpec | None
    warn_fraction: float | None


def calendar_spec(calendar: BusinessCalendar) -> CalendarSpec:
    """The pure spec of a calendar (uses prefetched periods and holidays when present). A stored
    time zone this server does not know gives a calendar that never opens (logged): its targets
    get no deadline instead of failing every message."""
    try:
        tz = ZoneInfo(calendar.time_zone)
    except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        logger.warning("sla calendar=%s has an unknown time zone; it never opens", calendar.pk)
        return CalendarSpec(tz=ZoneInfo("UTC"), periods=())
    # Ranges stay ranges: expanding a holiday spanning decades into dates would cost every
    # message that loads the policies.
    holidays: set[date] = set()
    ranges: list[DateRange] = []
    for holiday in calendar.holidays.all():
        if holiday.end_date is None or holiday.end_date <= holiday.start_date:
            holidays.add(holiday.start_date)
        else:
            ranges.append((holiday.start_date, holiday.end_date))
    return CalendarSpec(
        tz=tz,
        periods=tuple(Period(p.weekday, p.start_time, p.end_time) for p in calendar.periods.all()),
        holidays=frozenset(holidays),
        closed_ranges=merge_ranges(ranges),
    )


def policy_targets(policy: SLAPolicy) -> dict[str, TargetSpec]:
    """The targets a policy sets, by target name (targets without minutes are left out)."""
    # A calendar without opening periods stays a calendar (admin refuses to save one for a
    # business-time policy): its targets run without a deadline rather than silently 24/7.
    spec = calendar_spec(policy.calendar) if policy.calendar_id else None
    warn = policy.warn_percent / 100 if policy.warn_percent else None
    out: dict[str, TargetSpec] = {}
    for name, minutes, business in (
        (SLATarget.FIRST_RESPONSE, policy.first_response_minutes, policy.first_response_business),
        (SLATarget.NEXT_RESPONSE, policy.next_response_minutes, policy.next_response_business),
        (SLATarget.RESOLUTION, policy.resolution_minutes, policy.resolution_business),
    ):
        if minutes:
            out[str(name)] = TargetSpec(
                length=timedelta(minutes=minutes),
                calendar=spec if business else None,
                warn_fraction=warn,
            )
    return out


class PolicySet:
    """Every policy, its rules in the manager's order, and target specs cached per policy."""

    def __init__(self, policies: list[SLAPolicy]) -> None:
        self.by_id = {p.pk: p for p in policies}
        self.default = next((p for p in policies if p.is_default), None)
        self.rules: list[SLARule] = sorted(
            (rule for p in policies for rule in p.rules.all()), key=lambda r: (r.position, r.pk)
        )
        self._targets: dict[int, dict[str, TargetSpec]] = {}

    def __bool__(self) -> bool:
        return bool(self.by_id)

    def targets(self, policy: SLAPolicy | None) -> dict[str, TargetSpec]:
        if policy is None:
            return {}
        if policy.pk not in self._targets:
            self._targets[policy.pk] = policy_targets(self.by_id.get(policy.pk, policy))
        return self._targets[policy.pk]

    def for_conversation(self, conversation: Conversation) -> SLAPolicy | None:
        """The first matching rule's policy, else the default (None when there is neither)."""
        label_ids: set[int] | None = None
        attributes: dict | None = None
        for rule in self.rules:
            if rule.channel_id is not None and rule.channel_id != conversation.channel_id:
                continue
            if rule.priority is not None and rule.priority != conversation.priority:
                continue
            if rule.team_id is not None and rule.team_id != conversation.team_id:
                continue
            if rule.label_id is not None:
                if label_ids is None:
                    label_ids = _label_ids(conversation)
                if rule.label_id not in label_ids:
                    continue
            if rule.customer_attribute:
                if attributes is None:
                    attributes = (
                        conversation.customer.custom_attributes or {}
                        if conversation.customer_id is not None
                        else {}
                    )
                value = attributes.get(rule.customer_attribute)
                if value is None or str(value) != rule.customer_attribute_value:
                    continue
            return self.by_id[rule.policy_id]
        return self.default


def _label_ids(conversation: Conversation) -> set[int]:
    if conversation.pk is None:
        return set()
    if "labels" in getattr(conversation, "_prefetched_objects_cache", {}):
        return {label.pk for label in conversation.labels.all()}  # no query (bulk re-evaluation)
    return set(conversation.labels.values_list("pk", flat=True))


def load_policies() -> PolicySet:
    policies = list(
        SLAPolicy.objects.select_related(
            "calendar", "escalate_team", "escalate_assignee"
        ).prefetch_related("calendar__periods", "calendar__holidays", "rules")
    )
    return PolicySet(policies)


def uses_business_time(values: dict) -> bool:
    """Whether policy field values (a model's or a form's cleaned data) set a target that runs
    in business time."""
    return any(
        values.get(f"{target}_minutes") and values.get(f"{target}_business")
        for target in SLATarget.values
    )


def business_policies_on(calendar: BusinessCalendar) -> list[SLAPolicy]:
    """Policies that run at least one target on this calendar's business hours."""
    return [
        p
        for p in SLAPolicy.objects.filter(calendar=calendar).order_by("name")
        if uses_business_time(vars(p))
    ]


def check_policy_calendar(*, calendar: BusinessCalendar | None, values: dict) -> None:
    """Refuse a business-time policy on a calendar without opening periods: it would never
    have a deadline. Raises ValidationError on the `calendar` field."""
    if calendar is None or not uses_business_time(values):
        return
    if not calendar.periods.exists():
        raise ValidationError(
            {
                "calendar": _(
                    "The calendar “%(calendar)s” has no opening periods, so business-time "
                    "targets would never be due. Add opening periods to it, or make every "
                    "target run 24/7."
                )
                % {"calendar": calendar.name}
            }
        )


def check_holiday_range(*, start_date: date | None, end_date: date | None) -> None:
    """Refuse a holiday row longer than MAX_HOLIDAY_DAYS (a typo such as 2062 for 2026).
    Raises ValidationError on the `end_date` field."""
    if start_date is None or end_date is None or end_date < start_date:
        return  # a single day, or a reversed range the model's constraint reports
    days = (end_date - start_date).days + 1
    if days > MAX_HOLIDAY_DAYS:
        raise ValidationError(
            {
                "end_date": _(
                    "A holiday can last at most %(max)s days; this one lasts %(days)s. Check the "
                    "dates, or split a longer closure into several holidays."
                )
                % {"max": MAX_HOLIDAY_DAYS, "days": days}
            }
        )
