"""Console forms: the inbox filter bar and the conversation controls. Forms only parse and
validate input; the views hand the cleaned values to services."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from helpdesk.agents.models import Availability
from helpdesk.console.selectors import SORTS, VIEWS, InboxFilters
from helpdesk.conversations.models import ConversationStatus, Priority

VIEW_CHOICES = [("mine", _("Mine")), ("unassigned", _("Unassigned")), ("all", _("All"))]
SORT_CHOICES = [
    ("newest", _("Newest activity")),
    ("waiting", _("Longest waiting")),
    ("due", _("Due soonest")),
]
STATUS_FILTER_CHOICES = [("", _("Any status")), *ConversationStatus.choices]


class InboxFilterForm(forms.Form):
    view = forms.ChoiceField(label=_("View"), choices=VIEW_CHOICES, required=False)
    q = forms.CharField(label=_("Search"), max_length=200, required=False)
    team = forms.IntegerField(label=_("Team"), required=False, min_value=1)
    channel = forms.IntegerField(label=_("Channel"), required=False, min_value=1)
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_FILTER_CHOICES, required=False)
    label = forms.CharField(label=_("Label"), max_length=50, required=False)
    sort = forms.ChoiceField(label=_("Sort"), choices=SORT_CHOICES, required=False)

    def filters(self) -> InboxFilters:
        """The filters to apply; invalid input falls back to defaults rather than failing."""
        data = self.cleaned_data if self.is_valid() else {}
        status = data.get("status") if "status" in self.data else "open"
        view = data.get("view") or "all"
        sort = data.get("sort") or "newest"
        return InboxFilters(
            view=view if view in VIEWS else "all",
            team_id=data.get("team"),
            channel_id=data.get("channel"),
            status=status or None,
            label=data.get("label") or None,
            sort=sort if sort in SORTS else "newest",
            query=data.get("q") or "",
        )


class ReplyForm(forms.Form):
    text = forms.CharField(label=_("Message"), widget=forms.Textarea, required=False)
    client_id = forms.CharField(max_length=64, required=False)
    mode = forms.ChoiceField(
        choices=[("reply", _("Reply")), ("note", _("Private note"))], required=False
    )


class AssignForm(forms.Form):
    assignee = forms.CharField(label=_("Assignee"), required=False)  # user id, "me" or ""


class TeamForm(forms.Form):
    team = forms.IntegerField(label=_("Team"), required=False)


class StatusForm(forms.Form):
    status = forms.ChoiceField(label=_("Status"), choices=ConversationStatus.choices)
    snoozed_until = forms.DateTimeField(
        label=_("Snooze until"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
    )


class PriorityForm(forms.Form):
    priority = forms.TypedChoiceField(label=_("Priority"), choices=Priority.choices, coerce=int)


class LabelsForm(forms.Form):
    labels = forms.MultipleChoiceField(label=_("Labels"), required=False, choices=[])

    def __init__(self, *args: object, label_choices: list[tuple[str, str]], **kwargs: object):
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["labels"].choices = label_choices


class AvailabilityForm(forms.Form):
    availability = forms.ChoiceField(choices=Availability.choices)


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=_("Language"), choices=settings.LANGUAGES)
