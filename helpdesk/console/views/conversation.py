"""One conversation: thread, reply box, controls and the customer sidebar."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from helpdesk.console.selectors import (
    assignable_agents,
    conversation_for_agent,
    customer_history,
    filter_options,
    thread_messages,
)
from helpdesk.console.services import conversation_mark_read
from helpdesk.console.views.common import agent_required, is_fetch
from helpdesk.console.views.inbox import inbox_context
from helpdesk.conversations.models import Conversation, ConversationStatus, Priority
from helpdesk.conversations.services import (
    canned_for_agent,
    canned_render,
    canned_variables,
    reply_window_remaining,
)
from helpdesk.core.realtime import latest_event_id
from helpdesk.inboxes.limits import limits_for
from helpdesk.notifications.services import notification_mark_read_for_conversation
from helpdesk.sla.display import sla_display


def load_conversation(request: HttpRequest, conversation_id: int) -> Conversation:
    try:
        return conversation_for_agent(request.user, conversation_id)
    except Conversation.DoesNotExist as exc:
        raise Http404 from exc


def thread_context(
    request: HttpRequest, conversation: Conversation, *, mark_read: bool = True
) -> dict[str, Any]:
    messages = thread_messages(conversation)
    if messages and mark_read:
        conversation_mark_read(
            user=request.user, conversation=conversation, message_id=messages[-1].pk
        )
    return {
        "conversation": conversation,
        "thread": messages,
        "last_message_id": messages[-1].pk if messages else 0,
    }


def controls_context(request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
    """The header and the controls: re-fetched alone when another agent changes them."""
    return {
        "conversation": conversation,
        "agents": assignable_agents(),
        "options": filter_options(),
        "statuses": ConversationStatus.choices,
        "priorities": Priority.choices,
        "sla": sla_display(conversation, timezone.now()),
    }


def pane_context(request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
    limits = limits_for(conversation.channel.kind)
    remaining = reply_window_remaining(conversation)
    variables = canned_variables(conversation=conversation, agent=request.user)
    canned = [
        {"shortcut": c.shortcut, "text": canned_render(c.text, variables)}
        for c in canned_for_agent(request.user)
    ]
    customer = conversation.customer
    return {
        **thread_context(request, conversation),
        **controls_context(request, conversation),
        "limits": limits,
        "window_remaining": remaining,
        "window_seconds": int(remaining.total_seconds()) if remaining is not None else None,
        "window_closed": remaining is not None and remaining.total_seconds() <= 0,
        "canned": canned,
        "identities": list(customer.identities.order_by("kind", "address")),
        "history": customer_history(request.user, conversation),
    }


@require_GET
@agent_required
def conversation_detail(request: HttpRequest, conversation_id: int) -> HttpResponse:
    cursor = latest_event_id()
    conversation = load_conversation(request, conversation_id)
    fragment = request.GET.get("fragment") if is_fetch(request) else None
    if fragment == "thread":
        # A live refresh marks read only while the agent's tab is visible (the page says so).
        context = thread_context(request, conversation, mark_read=request.GET.get("read") == "1")
        return render(request, "console/_thread.html", context)
    if fragment == "controls":
        return render(request, "console/_controls.html", controls_context(request, conversation))
    notification_mark_read_for_conversation(user=request.user, conversation=conversation)
    context = pane_context(request, conversation)
    if fragment == "pane":
        return render(request, "console/_pane.html", context)
    context.update(inbox_context(request, current_id=conversation.pk), realtime_cursor=cursor)
    return render(request, "console/conversation.html", context)
