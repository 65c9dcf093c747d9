"""The agent's notifications: a paginated list, mark-as-read, and the toast for a live one."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from helpdesk.console.views.common import action_done, agent_required
from helpdesk.core.realtime import latest_event_id
from helpdesk.notifications.selectors import notifications_for
from helpdesk.notifications.services import notification_mark_read
from helpdesk.notifications.texts import notification_text

PAGE_SIZE = 30


@require_GET
@agent_required
def notifications(request: HttpRequest) -> HttpResponse:
    cursor = latest_event_id()
    rows = notifications_for(request.user)
    if request.GET.get("fragment") == "toast":
        # The newest unread one, as the short text a live toast shows (empty when none).
        latest = rows.filter(read_at__isnull=True).first()
        return render(
            request,
            "console/_notification_toast.html",
            {"n": latest, "text": notification_text(latest) if latest else ""},
        )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page", 1))
    items = [(n, notification_text(n)) for n in page.object_list]
    return render(
        request,
        "console/notifications.html",
        {
            "page": page,
            "items": items,
            "notifications_page": True,
            "filters": {},
            "realtime_cursor": cursor,
        },
    )


@require_POST
@agent_required
def notifications_read(request: HttpRequest) -> HttpResponse:
    ids = [int(v) for v in request.POST.getlist("id") if v.isdigit()] or None
    changed = notification_mark_read(user=request.user, notification_ids=ids)
    return action_done(request, reverse("console:notifications"), changed=changed)


@require_GET
@agent_required
def notification_open(request: HttpRequest, notification_id: int) -> HttpResponse:
    """Follow a notification: mark it read and go to its conversation."""
    found = get_object_or_404(notifications_for(request.user), pk=notification_id)
    notification_mark_read(user=request.user, notification_ids=[found.pk])
    return redirect("console:conversation", found.conversation_id)
