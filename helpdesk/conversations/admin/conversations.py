"""Conversation admin for managers.

Conversation state (status, assignee, team, priority, labels) stays editable in the change form,
but `save_model`/`save_related` hand every change to the services, so the admin records the same
activity lines, SLA updates and realtime events as the console. The form validates the status
move and the assignee first, so a refused change shows as a form error instead of a crash.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.conversations.admin.messages import MessageInline
from helpdesk.conversations.models import (
    Conversation,
    ConversationStatus,
    Label,
    check_status_transition,
)
from helpdesk.conversations.services import (
    conversation_add_label,
    conversation_assign,
    conversation_change_status,
    conversation_set_labels,
    conversation_set_priority,
    conversation_set_team,
)
from helpdesk.conversations.services.activity import display_name
from helpdesk.core.admin import apply_to_each, intermediate_form
from helpdesk.core.errors import DomainError

User = get_user_model()


def agents_queryset() -> QuerySet:
    return (
        User.objects.filter(is_active=True, agent_profile__isnull=False)
        .select_related("agent_profile")
        .order_by("agent_profile__display_name")
    )


class AgentChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return display_name(obj)


# --- Conversation -----------------------------------------------------------------------------


class ConversationForm(forms.ModelForm):
    class Meta:
        model = Conversation
        fields = [
            "status",
            "snoozed_until",
            "priority",
            "assignee",
            "team",
            "labels",
            "subject",
            "custom_attributes",
        ]
        field_classes = {"assignee": AgentChoiceField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "assignee" in self.fields:
            self.fields["assignee"].queryset = agents_queryset()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        status = data.get("status")
        old = self.instance.status
        if status and status != old:
            try:
                check_status_transition(old, status)
            except DomainError as error:
                self.add_error("status", error.message)
        if status == ConversationStatus.SNOOZED:
            until = data.get("snoozed_until")
            if until is None or until <= timezone.now():
                self.add_error("snoozed_until", _("Choose a snooze time in the future."))
        return data


STATE_FIELDS = {"status", "snoozed_until", "priority", "assignee", "team", "labels"}


class AssignForm(forms.Form):
    agent = AgentChoiceField(queryset=User.objects.none(), label=gettext_lazy("Agent"))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = agents_queryset()


class LabelForm(forms.Form):
    label = forms.ModelChoiceField(queryset=Label.objects.all(), label=gettext_lazy("Label"))


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    form = ConversationForm
    list_display = [
        "id",
        "customer",
        "channel",
        "status",
        "priority",
        "assignee_name",
        "team",
        "label_list",
        "waiting_since",
        "last_activity_at",
    ]
    list_display_links = ["id", "customer"]
    list_filter = ["status", "priority", "channel", "team", "labels", "assignee"]
    search_fields = ["=id", "subject", "customer__name", "customer__identities__address"]
    list_select_related = ["customer", "channel", "team", "assignee__agent_profile"]
    date_hierarchy = "last_activity_at"
    ordering = ["-last_activity_at"]
    inlines = [MessageInline]
    readonly_fields = [
        "customer",
        "channel",
        "created_at",
        "updated_at",
        "last_activity_at",
        "last_inbound_at",
        "last_outbound_at",
        "first_response_at",
        "waiting_since",
        "resolved_at",
        "sla_policy",
        "first_response_due_at",
        "next_response_due_at",
        "resolution_due_at",
        "all_messages",
    ]
    fieldsets = [
        (None, {"fields": ["customer", "channel", "subject", "all_messages"]}),
        (
            gettext_lazy("State"),
            {"fields": ["status", "snoozed_until", "priority", "assignee", "team", "labels"]},
        ),
        (
            gettext_lazy("Timestamps"),
            {
                "fields": [
                    "created_at",
                    "last_activity_at",
                    "last_inbound_at",
                    "last_outbound_at",
                    "first_response_at",
                    "waiting_since",
                    "resolved_at",
                ]
            },
        ),
        (
            gettext_lazy("SLA"),
            {
                "classes": ["collapse"],
                "fields": [
                    "sla_policy",
                    "first_response_due_at",
                    "next_response_due_at",
                    "resolution_due_at",
                ],
            },
        ),
        (gettext_lazy("Custom attributes"), {"fields": ["custom_attributes"]}),
    ]
    actions = [
        "assign_to_me",
        "assign_to_agent",
        "resolve",
        "reopen",
        "mark_pending",
        "add_label",
    ]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .prefetch_related(Prefetch("labels", queryset=Label.objects.order_by("name")))
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # conversations start from channels (or the console), never here

    @admin.display(description=gettext_lazy("assignee"), ordering="assignee__username")
    def assignee_name(self, obj: Conversation) -> str:
        return display_name(obj.assignee) if obj.assignee_id else "—"

    @admin.display(description=gettext_lazy("labels"))
    def label_list(self, obj: Conversation) -> str:
        return ", ".join(label.name for label in obj.labels.all())

    @admin.display(description=gettext_lazy("all messages"))
    def all_messages(self, obj: Conversation) -> str:
        url = reverse("admin:conversations_message_changelist")
        url += f"?conversation__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Browse every message (paginated)"))

    # Saving: every state change goes through a service (see the module docstring).

    def save_model(self, request: HttpRequest, obj: Conversation, form: Any, change: bool) -> None:
        changed = set(form.changed_data)
        data = form.cleaned_data
        by = request.user
        steps = []
        if "team" in changed:
            steps.append(lambda: conversation_set_team(conversation=obj, team=data["team"], by=by))
        if "priority" in changed:
            steps.append(
                lambda: conversation_set_priority(
                    conversation=obj, priority=data["priority"], by=by
                )
            )
        if "assignee" in changed:
            steps.append(
                lambda: conversation_assign(conversation=obj, assignee=data["assignee"], by=by)
            )
        if changed & {"status", "snoozed_until"}:
            steps.append(
                lambda: conversation_change_status(
                    conversation=obj,
                    status=data["status"],
                    snoozed_until=data.get("snoozed_until"),
                    by=by,
                )
            )
        for step in steps:
            try:
                step()
            except DomainError as error:
                self.message_user(request, error.message, messages.ERROR)
        plain = sorted(changed - STATE_FIELDS)
        if plain:
            obj.save(update_fields=[*plain, "updated_at"])

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        if "labels" in form.changed_data:
            conversation_set_labels(
                conversation=form.instance, labels=form.cleaned_data["labels"], by=request.user
            )
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)

    # Bulk actions: one service call per conversation; a refused one is reported and skipped.

    @admin.action(permissions=["change"], description=gettext_lazy("Assign to me"))
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet) -> None:
        apply_to_each(
            modeladmin=self,
            request=request,
            objects=queryset.order_by("pk"),
            operation=lambda c: conversation_assign(
                conversation=c, assignee=request.user, by=request.user
            ),
            success_message=_("%(n)s conversations assigned to you."),
        )

    @admin.action(permissions=["change"], description=gettext_lazy("Assign to an agent…"))
    def assign_to_agent(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        form, page = intermediate_form(
            modeladmin=self,
            request=request,
            queryset=queryset,
            form_class=AssignForm,
            action="assign_to_agent",
            title=_("Assign conversations"),
            intro=_("Choose the agent who takes these conversations."),
            submit_label=_("Assign"),
        )
        if form is None:
            return page
        agent = form.cleaned_data["agent"]
        apply_to_each(
            modeladmin=self,
            request=request,
            objects=queryset.order_by("pk"),
            operation=lambda c: conversation_assign(
                conversation=c, assignee=agent, by=request.user
            ),
            success_message=_("%(n)s conversations assigned."),
        )
        return None

    def _move(self, request: HttpRequest, queryset: QuerySet, status: str, done: str) -> None:
        apply_to_each(
            modeladmin=self,
            request=request,
            objects=queryset.order_by("pk"),
            operation=lambda c: conversation_change_status(
                conversation=c, status=status, by=request.user
            ),
            success_message=done,
        )

    @admin.action(permissions=["change"], description=gettext_lazy("Resolve"))
    def resolve(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(
            request, queryset, ConversationStatus.RESOLVED, _("%(n)s conversations resolved.")
        )

    @admin.action(permissions=["change"], description=gettext_lazy("Reopen"))
    def reopen(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(request, queryset, ConversationStatus.OPEN, _("%(n)s conversations reopened."))

    @admin.action(
        permissions=["change"],
        description=gettext_lazy("Mark as pending (waiting on the customer)"),
    )
    def mark_pending(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._move(
            request, queryset, ConversationStatus.PENDING, _("%(n)s conversations marked pending.")
        )

    @admin.action(permissions=["change"], description=gettext_lazy("Add a label…"))
    def add_label(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        form, page = intermediate_form(
            modeladmin=self,
            request=request,
            queryset=queryset,
            form_class=LabelForm,
            action="add_label",
            title=_("Add a label"),
            intro=_("Choose the label to add to these conversations."),
            submit_label=_("Add label"),
        )
        if form is None:
            return page
        label = form.cleaned_data["label"]
        apply_to_each(
            modeladmin=self,
            request=request,
            objects=queryset.order_by("pk"),
            operation=lambda c: conversation_add_label(
                conversation=c, label=label, by=request.user
            ),
            success_message=_("Label added to %(n)s conversations."),
        )
        return None
