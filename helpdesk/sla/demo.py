"""Demo SLA setup: an office calendar, a default policy and a stricter one for urgent work."""

from __future__ import annotations

from datetime import time

from django.db import transaction

from helpdesk.conversations.models import Priority
from helpdesk.sla.models import BusinessCalendar, OpeningPeriod, SLAPolicy, SLARule

DEMO_CALENDAR = "Office hours (Oslo)"


@transaction.atomic
def sla_seed_demo() -> SLAPolicy:
    """Create (idempotently) Mon-Fri 09:00-11:30 + 12:00-17:00 Europe/Oslo, a default policy
    (first response 60 business minutes, next response 120, resolution 3 business days of
    7.5 h, warn at 80 %) and an urgent-priority rule to a 24/7 policy (15 / 30 / 240 minutes,
    breach raises nothing further). Returns the default policy."""
    calendar, created = BusinessCalendar.objects.get_or_create(
        name=DEMO_CALENDAR, defaults={"time_zone": "Europe/Oslo"}
    )
    if created:
        OpeningPeriod.objects.bulk_create(
            OpeningPeriod(calendar=calendar, weekday=day, start_time=start, end_time=end)
            for day in range(5)
            for start, end in ((time(9), time(11, 30)), (time(12), time(17)))
        )
    default = SLAPolicy.objects.filter(is_default=True).first()
    if default is None:
        default, _ = SLAPolicy.objects.get_or_create(
            name="Standard",
            defaults={
                "calendar": calendar,
                "is_default": True,
                "first_response_minutes": 60,
                "next_response_minutes": 120,
                "resolution_minutes": 3 * 450,
                "warn_percent": 80,
            },
        )
    urgent, _ = SLAPolicy.objects.get_or_create(
        name="Urgent",
        defaults={
            "first_response_minutes": 15,
            "first_response_business": False,
            "next_response_minutes": 30,
            "next_response_business": False,
            "resolution_minutes": 240,
            "resolution_business": False,
            "warn_percent": 80,
        },
    )
    SLARule.objects.get_or_create(policy=urgent, priority=Priority.URGENT, defaults={"position": 0})
    return default
