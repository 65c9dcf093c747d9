from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from helpdesk.sla.models import (
    BusinessCalendar,
    Holiday,
    OpeningPeriod,
    SLAEvent,
    SLAPolicy,
    SLARule,
)


class OpeningPeriodInline(admin.TabularInline):
    model = OpeningPeriod
    extra = 1


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone"]
    inlines = [OpeningPeriodInline, HolidayInline]


class SLARuleInline(admin.TabularInline):
    model = SLARule
    extra = 0


@admin.register(SLAPolicy)
class SLAPolicyAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "is_default",
        "calendar",
        "first_response_minutes",
        "next_response_minutes",
        "resolution_minutes",
        "warn_percent",
    ]
    list_select_related = ["calendar"]
    inlines = [SLARuleInline]
    fieldsets = [
        (None, {"fields": ["name", "is_default", "calendar", "warn_percent"]}),
        (
            _("Targets"),
            {
                "fields": [
                    ("first_response_minutes", "first_response_business"),
                    ("next_response_minutes", "next_response_business"),
                    ("resolution_minutes", "resolution_business"),
                ]
            },
        ),
        (_("Escalation"), {"fields": ["escalate_priority", "escalate_team", "escalate_assignee"]}),
    ]


@admin.register(SLARule)
class SLARuleAdmin(admin.ModelAdmin):
    list_display = [
        "position",
        "policy",
        "channel",
        "priority",
        "label",
        "team",
        "customer_attribute",
    ]
    list_editable = ["position"]
    list_display_links = ["policy"]
    list_select_related = ["policy", "channel", "label", "team"]


@admin.register(SLAEvent)
class SLAEventAdmin(admin.ModelAdmin):
    list_display = ["conversation", "target", "cycle", "kind", "due_at", "occurred_at", "policy"]
    list_filter = ["kind", "target"]
    list_select_related = ["policy"]
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request) -> bool:  # recorded by the SLA services only
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
