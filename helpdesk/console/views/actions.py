"""Conversation writes from the console. Each parses a form and calls one service; a refused
action (DomainError) becomes a clear message, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.agents.models import Team
from helpdesk.console.forms import (
    AssignForm,
    LabelsForm,
    PriorityForm,
    ReplyForm,
    StatusForm,
    TeamForm,
)
from helpdesk.console.views.common import action_done, action_failed, agent_required
from helpdesk.console.views.conversation import load_conversation
from helpdesk.conversations.models import Conversation, Label
from helpdesk.conversations.services import (
    ReplyFile,
    conversation_add_label,
    conversation_assign,
    conversation_change_status,
    conversation_remove_label,
    conversation_set_labels,
    conversation_set_priority,
    conversation_set_team,
    message_send_reply,
    note_create,
)
from helpdesk.conversations.services.reply_files import MAX_FILES
from helpdesk.core.errors import DomainError

Action = Callable[[HttpRequest, Conversation, str], HttpResponse]


def conversation_action(action: Action) -> Callable[..., HttpResponse]:
    @require_POST
    @agent_required
    @wraps(action)
    def wrapped(request: HttpRequest, conversation_id: int) -> HttpResponse:
        conversation = load_conversation(request, conversation_id)
        next_url = reverse("console:conversation", args=[conversation.pk])
        if request.GET:
            next_url += "?" + request.GET.urlencode()
        try:
            return action(request, conversation, next_url)
        except DomainError as exc:
            return action_failed(request, next_url, exc)

    return wrapped


def _invalid(request: HttpRequest, next_url: str, form: Any) -> HttpResponse:
    errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
    return action_failed(request, next_url, errors or _("Please check the form."))


@conversation_action
def reply(request: HttpRequest, conversation: Conversation, next_url: str) -> HttpResponse:
    form = ReplyForm(request.POST)
    if not form.is_valid():
        return _invalid(request, next_url, form)
    text = form.cleaned_data["text"] or ""
    files = [
        ReplyFile(filename=upload.name or "", content=upload.read())
        for upload in request.FILES.getlist("files")[: MAX_FILES + 1]
    ]
    if form.cleaned_data.get("mode") == "note":
        message = note_create(
            conversation=conversation, author=request.user, text=text, files=files
        )
    else:
        message = message_send_reply(
            conversation=conversation,
            author=request.user,
            text=text,
            client_id=form.cleaned_data.get("client_id") or None,
            files=files,
        )
    return action_done(request, next_url, message_id=message.pk)


@conversation_action
def assign(request: HttpRequest, conversation: Conversation, next_url: str) -> HttpResponse:
    form = AssignForm(request.POST)
    if not form.is_valid():
        return _invalid(request, next_url, form)
    value = form.cleaned_data["assignee"]
    if value == "me":
        assignee = request.user
    elif value:
        assignee = get_user_model().objects.filter(pk=value if value.isdigit() else 0).first()
        if assignee is None:
            raise DomainError(_("Unknown agent."), code="unknown_agent")
    else:
        assignee = None
    conversation_assign(conversation=conversation, assignee=assignee, by=request.user)
    return action_done(request, next_url)


@conversation_action
def team(request: HttpRequest, conversation: Conversation, next_url: str) -> HttpResponse:
    form = TeamForm(request.POST)
    if not form.is_valid():
        return _invalid(request, next_url, form)
    team_id = form.cleaned_data["team"]
    chosen = Team.objects.filter(pk=team_id).first() if team_id else None
    if team_id and chosen is None:
        raise DomainError(_("Unknown team."), code="unknown_team")
    conversation_set_team(conversation=conversation, team=chosen, by=request.user)
    return action_done(request, next_url)


@conversation_action
def status(request: HttpRequest, conversation: Conversation, next_url: str) -> HttpResponse:
    form = StatusForm(request.POST)
    if not form.is_valid():
        return _invalid(request, next_url, form)
    conversation_change_status(
        conversation=conversation,
        status=form.cleaned_data["status"],
        snoozed_until=form.cleaned_data.get("snoozed_until"),
        by=request.user,
    )
    return action_done(request, next_url)


@conversation_action
def priority(request: HttpRequest, conversation: Conversation, next_url: str) -> HttpResponse:
    form = PriorityForm(request.POST)
    if not form.is_valid():
        return _invalid(request, next_url, form)
    conversation_set_priority(
        conversation=conversation, priority=form.cleaned_data["priority"], by=request.user
    )
    return action_done(request, next_url)


@conversation_action
def labels(request: HttpRequest, conversation: Conversation, next_url: str) -> HttpResponse:
    toggle = request.POST.get("toggle")
    if toggle is not None:
        # One label on or off (what the page sends): labels another agent set meanwhile stay.
        label = Label.objects.filter(name=toggle).first()
        if label is None:
            raise DomainError(_("Unknown label."), code="unknown_label")
        change = (
            conversation_add_label if request.POST.get("on") == "1" else conversation_remove_label
        )
        change(conversation=conversation, label=label, by=request.user)
        return action_done(request, next_url)
    all_labels = {label.name: label for label in Label.objects.all()}
    form = LabelsForm(request.POST, label_choices=[(n, n) for n in all_labels])
    if not form.is_valid():
        return _invalid(request, next_url, form)
    chosen = [all_labels[name] for name in form.cleaned_data["labels"]]
    conversation_set_labels(conversation=conversation, labels=chosen, by=request.user)
    return action_done(request, next_url)
