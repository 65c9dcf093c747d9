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


async def _busy(send: Send) -> None:
    body = json.dumps(
        {"error": "The server is busy. Please try again in a moment.", "code": "busy"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/json"),
                (b"retry-after", b"1"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def limit_concurrency(
    app: ASGIApp, *, max_concurrent: Callable[[], int], max_wait: Callable[[], float]
) -> ASGIApp:
    """At most `max_concurrent` HTTP requests inside `app` at once; the next ones wait up to
    `max_wait` seconds for a turn, then get 503 with Retry-After.

    Django runs each request of the ASGI server in a thread of its own, and each may need a
    database connection: without a bound, a burst starts hundreds of threads that queue for the
    pool and time out after seconds with a 500. Bounded to the pool's size, they queue here
    instead, cheaply, and an overload is answered fast and honestly."""
    semaphore: asyncio.Semaphore | None = None

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        nonlocal semaphore
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        if semaphore is None:
            semaphore = asyncio.Semaphore(max_concurrent())
        try:
            async with asyncio.timeout(max_wait()):
                await semaphore.acquire()
        except TimeoutError:
            await _busy(send)
            return
        try:
            await app(scope, receive, send)
        finally:
            semaphore.release()

    return limited
