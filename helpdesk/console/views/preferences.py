"""The agent's own settings: language and availability."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from helpdesk.console.forms import AvailabilityForm, LanguageForm
from helpdesk.console.services import agent_set_availability, agent_set_language
from helpdesk.console.views.common import action_done, action_failed, agent_required


def _back(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.headers.get("Referer") or "/"
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return "/"


@require_POST
@agent_required
def language(request: HttpRequest) -> HttpResponse:
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return action_failed(request, _back(request), "; ".join(form.errors.get("language", [])))
    agent_set_language(user=request.user, language=form.cleaned_data["language"])
    return action_done(request, _back(request))


@require_POST
@agent_required
def availability(request: HttpRequest) -> HttpResponse:
    form = AvailabilityForm(request.POST)
    if not form.is_valid():
        return action_failed(
            request, _back(request), "; ".join(form.errors.get("availability", []))
        )
    profile = agent_set_availability(
        user=request.user, availability=form.cleaned_data["availability"]
    )
    return action_done(request, _back(request), availability=profile.availability)
