"""Request edges: refuse bodies larger than any upload we accept before anything parses them,
log each request without personal data, and give the database connection back before the
response is sent."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from helpdesk.core.db import release_connection

access_logger = logging.getLogger("relay.access")


class ReleaseDatabaseConnectionMiddleware:
    """Outermost: once the response is built, close this request's database connection (back
    to the pool on PostgreSQL) instead of when the response has been sent (Django's
    request_finished). The request gives its turn back when its response starts
    (helpdesk.core.asgi_limits.limit_concurrency); a client that downloads slowly must not
    keep a pooled connection behind it. A streaming response that reads the database while it
    streams opens a connection again, and Django closes it at the end as before."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            return self.get_response(request)
        finally:
            release_connection()


class RequestBodyLimitMiddleware:
    """413 with a reason for a declared Content-Length over REQUEST_BODY_MAX_BYTES. (A body
    sent without a length is bounded by the proxy in front; see the README.)"""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        limit = settings.REQUEST_BODY_MAX_BYTES
        if length > limit:
            return JsonResponse(
                {
                    "error": _("The request is too large (at most %(mb)s MB).")
                    % {"mb": limit // (1024 * 1024)},
                    "code": "too_large",
                },
                status=413,
            )
        return self.get_response(request)


class AccessLogMiddleware:
    """One line per request without what must not reach logs: no query string (console
    searches carry phone numbers and addresses) and no signed file tokens. Replaces the ASGI
    server's access log (uvicorn runs with --no-access-log)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.monotonic()
        response = self.get_response(request)
        access_logger.info(
            "%s %s %s %.0fms",
            request.method,
            loggable_path(request.path),
            response.status_code,
            (time.monotonic() - started) * 1000,
        )
        return response


def loggable_path(path: str) -> str:
    """The path with bearer tokens blanked (signed file links)."""
    if path.startswith("/files/"):
        return "/files/…/"
    return path
