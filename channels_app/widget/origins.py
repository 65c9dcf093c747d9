"""Which web pages may embed a channel's widget: `Channel.settings["allowed_origins"]`.

Browsers send `Origin` on cross-origin requests (and on same-origin writes); a same-origin GET
carries only `Referer`, whose origin is used then. A request naming no origin at all is refused:
the widget always runs in a page.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse

from helpdesk.inboxes.models import Channel

ALLOWED_HEADERS = "Content-Type, X-Widget-Token"
ALLOWED_METHODS = "GET, POST, OPTIONS"
PREFLIGHT_MAX_AGE = "600"


def normalize_origin(value: str) -> str:
    """scheme://host[:port] in lower case, default ports dropped; '' when not an origin."""
    parts = urlsplit((value or "").strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    port = parts.port
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def allowed_origins(channel: Channel) -> set[str]:
    configured = channel.settings.get("allowed_origins") or []
    if isinstance(configured, str):
        configured = [configured]
    return {o for o in (normalize_origin(str(item)) for item in configured) if o}


def request_origin(request: HttpRequest) -> str:
    origin = request.headers.get("Origin", "")
    if origin and origin != "null":
        return normalize_origin(origin)
    return normalize_origin(request.headers.get("Referer", ""))


def origin_allowed(channel: Channel, origin: str) -> bool:
    return bool(origin) and origin in allowed_origins(channel)


def add_cors_headers(response: HttpResponse, origin: str) -> HttpResponse:
    """Answer CORS for one allowed origin (never `*`: each channel lists its shop's sites)."""
    response["Access-Control-Allow-Origin"] = origin
    response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
    response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
    response["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
    vary = response.get("Vary")
    response["Vary"] = f"{vary}, Origin" if vary else "Origin"
    return response
