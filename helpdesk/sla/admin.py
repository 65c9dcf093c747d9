"""SLA admin. Saving a policy or a calendar (with its periods and holidays) queues the recompute
of the stored deadlines of the open conversations it affects; adding, changing or deleting
rules (here or in a policy's inline), changing the default policy or deleting a policy queues
the re-evaluation of which policy applies to each open conversation (helpdesk.sla.recompute)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
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
from helpdesk.sla.policies import (
    business_policies_on,
    check_holiday_range,
    check_policy_calendar,
)
from helpdesk.sla.recompute import sla_calendar_changed, sla_policy_changed, sla_rules_changed


def _edited(form: forms.ModelForm, formsets: list[Any]) -> bool:
    return form.has_changed() or any(formset.has_changed() for formset in formsets)


def _rules_changed(request: HttpRequest) -> None:
    """Queue one re-evaluation per request, however many rules it saves (the changelist's
    editable positions save each changed row in one transaction)."""
    if not getattr(request, "_sla_rules_changed", False):
        request._sla_rules_changed = True  # type: ignore[attr-defined]
        sla_rules_changed()


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


class HolidayForm(forms.ModelForm):
    class Meta:
        model = Holiday
        fields = ["name", "start_date", "end_date"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        check_holiday_range(start_date=cleaned.get("start_date"), end_date=cleaned.get("end_date"))
        return cleaned


class HolidayInline(admin.TabularInline):
    model = Holiday
    form = HolidayForm
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
        # Deadlines depend on the policy's own fields only; which policy applies depends on
        # the rules and on which policy is the default.
        if change and form.has_changed():
            sla_policy_changed(policy=form.instance)
        if "is_default" in form.changed_data or any(
            formset.has_changed() for formset in formsets if formset.model is SLARule
        ):
            _rules_changed(request)

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        _rules_changed(request)  # its rules are gone and its conversations have no policy

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        _rules_changed(request)


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

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        if not change or form.has_changed():
            _rules_changed(request)

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        _rules_changed(request)

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        _rules_changed(request)


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
