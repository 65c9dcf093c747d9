"""Serve each agent in the language they picked (AgentProfile.language)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import translation


class AgentLanguageMiddleware:
    """Runs after authentication: a signed-in agent's chosen language beats Accept-Language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        profile = getattr(user, "agent_profile", None) if user and user.is_authenticated else None
        if profile is not None and profile.language:
            translation.activate(profile.language)
            request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        if profile is not None and profile.language:
            response.headers.setdefault("Content-Language", profile.language)
        return response
