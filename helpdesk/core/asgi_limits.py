"""Request body limit at the ASGI edge. Django's ASGI handler reads (spools) the whole body
before any middleware runs, so a size check in middleware alone comes too late to stop a large
or endless upload. This wrapper never reads a body whose declared Content-Length is over the
limit (the middleware then answers 413 in the visitor's language), and cuts off a body sent
without a length (chunked) once it passes the limit (413, in English: no language is known
yet)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyTooLarge(Exception):
    pass


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps(
        {
            "error": f"The request is too large (at most {limit // (1024 * 1024)} MB).",
            "code": "too_large",
        }
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"connection", b"close")],
        }
    )
    await send({"type": "http.response.body", "body": body})


def limit_request_body(app: ASGIApp, *, max_bytes: Callable[[], int]) -> ASGIApp:
    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        limit = max_bytes()
        headers = dict(scope.get("headers") or [])
        try:
            declared = int(headers.get(b"content-length", b"0") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            # Never read it: hand Django an empty body; RequestBodyLimitMiddleware answers the
            # declared length with a translated 413.
            sent = False

            async def nothing() -> Message:
                nonlocal sent
                if not sent:
                    sent = True
                    return {"type": "http.request", "body": b"", "more_body": False}
                await asyncio.Event().wait()  # Django's disconnect listener; cancelled after
                raise AssertionError("unreachable")

            await app(scope, nothing, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge
            return message

        try:
            await app(scope, counted, send)
        except BodyTooLarge:
            await _refuse(send, limit)

    return limited
