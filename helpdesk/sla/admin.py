"""SLA admin. Saving a policy or a calendar (with its periods and holidays) queues the recompute
of the stored deadlines of the open conversations it affects (helpdesk.sla.recompute)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from helpdesk.sla.models import (
    BusinessCalendar,
    Holiday,
    OpeningPeriod,
    SLAEvent,
    SLAPolicy,
    SLARule,
    SLATarget,
)
from helpdesk.sla.policies import business_policies_on, check_policy_calendar
from helpdesk.sla.recompute import sla_calendar_changed, sla_policy_changed


def _edited(form: forms.ModelForm, formsets: list[Any]) -> bool:
    return form.has_changed() or any(formset.has_changed() for formset in formsets)


class OpeningPeriodFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        """Refuse to remove the last opening period of a calendar a business-time policy uses:
        its targets would never be due."""
        super().clean()
        if self.instance.pk is None or any(self.errors):
            return
        kept = [
            form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        if kept:
            return
        policies = business_policies_on(self.instance)
        if policies:
            raise ValidationError(
                _(
                    "Business-time SLA policies use this calendar (%(policies)s); it needs at "
                    "least one opening period."
                )
                % {"policies": ", ".join(p.name for p in policies)}
            )


class OpeningPeriodInline(admin.TabularInline):
    model = OpeningPeriod
    formset = OpeningPeriodFormSet
    extra = 1


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 1


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone"]
    inlines = [OpeningPeriodInline, HolidayInline]

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        if change and _edited(form, formsets):
            sla_calendar_changed(calendar=form.instance)


class SLAPolicyForm(forms.ModelForm):
    class Meta:
        model = SLAPolicy
        fields = [
            "name",
            "is_default",
            "calendar",
            "warn_percent",
            *[f"{t}_{part}" for t in SLATarget.values for part in ("minutes", "business")],
            "escalate_priority",
            "escalate_team",
            "escalate_assignee",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        check_policy_calendar(calendar=cleaned.get("calendar"), values=cleaned)
        return cleaned


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
    form = SLAPolicyForm
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

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        if change and _edited(form, formsets):
            sla_policy_changed(policy=form.instance)


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
    list_filter = ["kind", "target", "policy"]
    list_select_related = ["policy", "conversation"]
    search_fields = ["=conversation__id"]
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request) -> bool:  # recorded by the SLA services only
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
