"""Limits at the ASGI edge, in the order config/asgi.py stacks them around Django:

1. `limit_request_body`: Django's ASGI handler reads (spools) the whole body before any
   middleware runs, so a size check in middleware alone comes too late to stop a large or
   endless upload. This wrapper never reads a body whose declared Content-Length is over the
   limit (the middleware then answers 413 in the visitor's language), and cuts off a body sent
   without a length (chunked) once it passes the limit (413, in English: no language is known
   yet).
2. `read_body_first`: the whole body is read, within a deadline (else 408), before the request
   asks for a turn, so a client that sends its body slowly holds a socket, never a turn.
3. `limit_concurrency`: at most so many requests inside Django at once, each until its
   response starts.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import weakref
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


async def _too_slow(send: Send) -> None:
    body = json.dumps({"error": "The request took too long to arrive.", "code": "timeout"}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 408,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


# Bodies up to this size stay in memory while they are read; larger ones go to a temporary file
# (as Django's own reader does), so slow uploads in parallel cost disk, not memory.
SPOOL_MAX_MEMORY = 1024 * 1024
REPLAY_CHUNK_BYTES = 64 * 1024


def read_body_first(app: ASGIApp, *, timeout: Callable[[], float]) -> ASGIApp:
    """Read the whole request body, within `timeout` seconds from the first read, before `app`
    runs; then hand it to `app` as if it arrived at once. Later `receive()` calls (Django's
    disconnect listener) go to the client as before.

    A client that sends headers and part of a body, then waits, would otherwise sit inside
    `limit_concurrency` while Django reads: a dozen of them took every turn and every other
    request got 503. A body that is not complete in time gets 408 and the connection is
    closed; a client that disconnects meanwhile gets nothing. A request without a body costs
    one message: its (empty) body is already there."""

    async def buffered(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MAX_MEMORY, mode="w+b") as body:
            try:
                async with asyncio.timeout(timeout()):
                    while True:
                        message = await receive()
                        if message["type"] == "http.disconnect":
                            return
                        body.write(message.get("body", b""))
                        if not message.get("more_body"):
                            break
            except TimeoutError:
                await _too_slow(send)
                return
            size = body.tell()
            body.seek(0)
            replayed = False

            async def replay() -> Message:
                nonlocal replayed
                if replayed:
                    return await receive()
                chunk = body.read(REPLAY_CHUNK_BYTES)
                replayed = body.tell() >= size
                return {"type": "http.request", "body": chunk, "more_body": not replayed}

            await app(scope, replay, send)

    return buffered


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
    instead, cheaply, and an overload is answered fast and honestly.

    A turn is held from the request (its body already read, see `read_body_first`) until its
    response starts: by then the view has run and its database connection is back in the pool
    (ReleaseDatabaseConnectionMiddleware), so a client that downloads slowly holds no turn.
    Turns are counted per event loop (uvicorn runs one per process)."""
    semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
        weakref.WeakKeyDictionary()
    )

    def turns() -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop not in semaphores:
            semaphores[loop] = asyncio.Semaphore(max_concurrent())
        return semaphores[loop]

    async def limited(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        semaphore = turns()
        try:
            async with asyncio.timeout(max_wait()):
                await semaphore.acquire()
        except TimeoutError:
            await _busy(send)
            return
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                semaphore.release()

        async def send_then_release(message: Message) -> None:
            if message["type"] == "http.response.start":
                release()
            await send(message)

        try:
            await app(scope, receive, send_then_release)
        finally:
            release()

    return limited
