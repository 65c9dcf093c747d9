"""The inbox: views, filters, sorts, search, pagination, unread counts."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.http import require_GET

from helpdesk.console.forms import SORT_CHOICES, VIEW_CHOICES, InboxFilterForm
from helpdesk.console.selectors import DEFAULT_PAGE_SIZE, filter_options, inbox_page
from helpdesk.console.views.common import agent_required, is_fetch
from helpdesk.core.realtime import latest_event_id


def list_querystring(query: QueryDict) -> str:
    """The list's filters, kept when opening a conversation or changing page."""
    kept = query.copy()
    for key in ("page", "fragment"):
        kept.pop(key, None)
    return kept.urlencode()


def inbox_context(request: HttpRequest, *, current_id: int | None = None) -> dict[str, Any]:
    form = InboxFilterForm(request.GET or None)
    filters = form.filters()
    try:
        page_size = int(request.GET.get("page_size", DEFAULT_PAGE_SIZE))
    except ValueError:
        page_size = DEFAULT_PAGE_SIZE
    page = inbox_page(request.user, filters, page=request.GET.get("page", 1), page_size=page_size)
    return {
        "form": form,
        "filters": filters,
        "page": page,
        "conversations": page.object_list,
        "options": filter_options(),
        "views": VIEW_CHOICES,
        "sorts": SORT_CHOICES,
        "qs": list_querystring(request.GET),
        "current_id": current_id,
    }


@require_GET
@agent_required
def inbox(request: HttpRequest) -> HttpResponse:
    cursor = latest_event_id()
    context = {**inbox_context(request), "realtime_cursor": cursor}
    if is_fetch(request) and request.GET.get("fragment") == "list":
        return render(request, "console/_list.html", context)
    return render(request, "console/inbox.html", context)


@require_GET
@agent_required
def counts(request: HttpRequest) -> HttpResponse:
    """The navigation with its unread counts (refetched after live events)."""
    form = InboxFilterForm(request.GET or None)
    return render(
        request,
        "console/_nav.html",
        {"filters": form.filters(), "views": VIEW_CHOICES, "qs": list_querystring(request.GET)},
    )
