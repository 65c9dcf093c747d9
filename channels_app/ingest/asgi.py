"""The raw ASGI route for provider webhooks: matched before Django, so accepting a webhook is a
signature check and one INSERT on the event loop, with no middleware, thread hop or session.

Routes are (path regex, handler); a handler gets an `AcceptRequest` plus the regex's named
groups and returns an `AcceptResponse`. Anything else goes on to Django.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from importlib import import_module
from typing import Any

from channels_app.ingest.http import AcceptRequest, AcceptResponse, Handler, overloaded, text
from channels_app.ingest.store import Overloaded
from helpdesk.core.outage_log import warn_outage

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# Provider webhooks are small (Twilio: a few kB of form fields) and arrive at once: a body
# larger than this, or one that takes longer than READ_SECONDS to arrive, is refused.
MAX_BODY_BYTES = 64 * 1024
READ_SECONDS = 10.0

ROUTES: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(r"^/webhooks/twilio/(?P<public_id>[0-9a-fA-F-]{36})/(?P<kind>inbound|status)$"),
        "channels_app.twilio.accept:accept",
    ),
]

_handlers: dict[str, Handler] = {}


def _handler(path: str) -> Handler:
    if path not in _handlers:
        module, _, attr = path.partition(":")
        _handlers[path] = getattr(import_module(module), attr)
    return _handlers[path]


class _TooLarge(Exception):
    pass


class _Disconnected(Exception):
    pass


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected  # the client gave up: a partial body is never processed
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _send(send: Send, response: AcceptResponse) -> None:
    body = response.body.encode()
    headers = [
        (b"content-type", response.content_type.encode()),
        (b"content-length", str(len(body)).encode()),
        *((k.lower().encode(), v.encode()) for k, v in response.headers.items()),
    ]
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _serve(
    scope: Scope, receive: Receive, send: Send, route: re.Match[str], path: str
) -> None:
    if scope["method"] != "POST":
        await _send(send, AcceptResponse(405, "POST only.", headers={"Allow": "POST"}))
        return
    try:
        async with asyncio.timeout(READ_SECONDS):
            body = await _read_body(receive)
    except _TooLarge:
        await _send(send, text(413, "The request is too large."))
        return
    except TimeoutError:
        await _send(send, text(408, "The request body took too long to arrive."))
        return
    except _Disconnected:
        return
    request = AcceptRequest(
        method="POST",
        path=scope["path"],
        query_string=scope.get("query_string", b"").decode("latin-1"),
        headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
        body=body,
        native=True,
    )
    try:
        response = await _handler(path)(request, **route.groupdict())
    except Overloaded:
        response = overloaded()
    except Exception as exc:  # nothing was stored: the provider is asked to come back
        warn_outage(
            logger,
            "webhook-accept",
            "webhook accept failed (%s) for %s",
            type(exc).__name__,
            scope["path"].rsplit("/", 1)[-1],
        )
        response = overloaded()
    await _send(send, response)


def accept_webhooks(app: ASGIApp) -> ASGIApp:
    """Serve provider webhook routes here; pass every other request to `app` (Django)."""

    async def router(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/webhooks/"):
            for pattern, path in ROUTES:
                match = pattern.match(scope["path"])
                if match:
                    await _serve(scope, receive, send, match, path)
                    return
        await app(scope, receive, send)

    return router
