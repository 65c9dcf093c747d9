"""What every console view shares: the agent check, fragment detection, error answers."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect

from helpdesk.core.errors import DomainError

View = Callable[..., HttpResponse]


def agent_required(view: View) -> View:
    """Signed in and an agent (has an AgentProfile); anyone else gets 403."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not hasattr(request.user, "agent_profile"):
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def is_fetch(request: HttpRequest) -> bool:
    """The console's JavaScript asks for fragments / JSON with this header."""
    return request.headers.get("X-Relay-Fetch") == "1"


def action_done(request: HttpRequest, next_url: str, **data: Any) -> HttpResponse:
    if is_fetch(request):
        return JsonResponse({"ok": True, **data})
    return redirect(next_url)


def action_failed(request: HttpRequest, next_url: str, error: DomainError | str) -> HttpResponse:
    """A refused action: a clear message, never a 500. JSON for the page's JavaScript, a
    flash message and a redirect without it."""
    text = error.message if isinstance(error, DomainError) else str(error)
    status = error.http_status if isinstance(error, DomainError) else 400
    code = error.code if isinstance(error, DomainError) else "invalid"
    if is_fetch(request):
        return JsonResponse({"ok": False, "error": text, "code": code}, status=status)
    messages.error(request, text)
    return redirect(next_url)
