"""The body limit at the ASGI edge, driven through the real application."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from asgiref.testing import ApplicationCommunicator

from config.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def post(headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[int, bytes]:
    """POST to a widget endpoint through the ASGI application; returns (status, body)."""

    async def scenario() -> tuple[int, bytes]:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "POST",
            "path": "/widget/api/00000000-0000-0000-0000-000000000000/messages",
            "raw_path": b"/widget/api/00000000-0000-0000-0000-000000000000/messages",
            "query_string": b"",
            "headers": [(b"host", b"localhost"), *headers],
            "client": ("127.0.0.1", 5000),
            "server": ("127.0.0.1", 8000),
        }
        app = ApplicationCommunicator(application, scope)
        for i, chunk in enumerate(chunks):
            await app.send_input(
                {"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
            )
        start = await app.receive_output(5)
        body = await app.receive_output(5)
        return start["status"], body.get("body", b"")

    return async_to_sync(scenario)()


def test_declared_oversized_body_is_refused_without_reading_it(settings):
    settings.REQUEST_BODY_MAX_BYTES = 1000
    status, body = post([(b"content-length", b"5000000")], [b"x" * 10])
    assert status == 413 and b"too_large" in body


def test_chunked_body_is_cut_off_past_the_limit(settings):
    settings.REQUEST_BODY_MAX_BYTES = 1000
    status, body = post([(b"transfer-encoding", b"chunked")], [b"x" * 600, b"x" * 600])
    assert status == 413 and b"too_large" in body


def test_limit_concurrency_queues_briefly_then_answers_503_with_retry_after():
    """Two requests at most inside; a third waits its turn, a fourth that cannot get one in
    time is told to come back, fast, instead of piling onto the database pool."""
    import asyncio
    import time

    from channels.testing import HttpCommunicator

    from helpdesk.core.asgi_limits import limit_concurrency

    inside = 0
    most = 0

    async def slow_app(scope, receive, send) -> None:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.4)
        inside -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    app = limit_concurrency(slow_app, max_concurrent=lambda: 2, max_wait=lambda: 0.6)

    async def scenario() -> list[tuple[int, float, dict]]:
        async def one(delay: float) -> tuple[int, float, dict]:
            await asyncio.sleep(delay)
            started = time.monotonic()
            response = await HttpCommunicator(app, "GET", "/").get_response(timeout=5)
            return response["status"], time.monotonic() - started, dict(response["headers"])

        return await asyncio.gather(one(0), one(0), one(0.05), one(0.05), one(0.05))

    results = async_to_sync(scenario)()
    statuses = sorted(status for status, _, _ in results)
    assert most == 2
    assert statuses.count(200) >= 3  # two at once, the next after a turn frees
    refused = [r for r in results if r[0] == 503]
    assert refused, results
    for _, elapsed, headers in refused:
        assert elapsed < 1.5
        assert headers[b"retry-after"] == b"1"


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"host", b"localhost"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("127.0.0.1", 8000),
    }


def test_application_slow_request_bodies_do_not_lock_other_requests_out(settings):
    """A dozen sockets that send a POST's headers and part of its body, then nothing (more
    than WEB_MAX_CONCURRENT_REQUESTS of them), hold no turn: a probe is answered at once, and
    each slow sender gets 408 once WEB_BODY_TIMEOUT has passed."""
    import asyncio
    import time

    settings.WEB_BODY_TIMEOUT = 1.5
    slow_senders = settings.WEB_MAX_CONCURRENT_REQUESTS + 2

    async def scenario() -> tuple[int, float, list[tuple[int, bytes]], float]:
        slow = []
        for _ in range(slow_senders):
            scope = _scope(
                "POST",
                "/widget/api/00000000-0000-0000-0000-000000000000/messages",
                [(b"content-length", b"1000"), (b"content-type", b"application/json")],
            )
            app = ApplicationCommunicator(application, scope)
            await app.send_input({"type": "http.request", "body": b"{", "more_body": True})
            slow.append(app)
        started = time.monotonic()
        await asyncio.sleep(0.1)  # every slow sender is inside by now
        probe = ApplicationCommunicator(application, _scope("GET", "/healthz", []))
        await probe.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await probe.receive_output(5)
        probe_elapsed = time.monotonic() - started
        await probe.receive_output(5)
        answers = []
        for app in slow:
            start_message = await app.receive_output(5)
            body = await app.receive_output(5)
            answers.append((start_message["status"], body.get("body", b"")))
        return start["status"], probe_elapsed, answers, time.monotonic() - started

    probe_status, probe_elapsed, answers, elapsed = async_to_sync(scenario)()
    assert probe_status == 200
    assert probe_elapsed < 1.0  # not WEB_QUEUE_TIMEOUT, nor the slow senders' deadline
    assert all(status == 408 and b"timeout" in body for status, body in answers), answers
    assert 1.5 <= elapsed < 3.5


def test_read_body_first_replays_a_body_sent_in_pieces_then_passes_the_disconnect_on():
    import asyncio

    from helpdesk.core.asgi_limits import read_body_first

    seen: list[dict] = []

    async def echo(scope, receive, send) -> None:
        body = b""
        while True:
            message = await receive()
            seen.append(message)
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        seen.append(await receive())  # what Django's disconnect listener gets
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": body})

    app = read_body_first(echo, timeout=lambda: 2.0)
    pieces = [b"a" * 700_000, b"b" * 700_000, b"c" * 5]  # past SPOOL_MAX_MEMORY: on disk

    async def scenario() -> tuple[int, bytes]:
        comm = ApplicationCommunicator(app, _scope("POST", "/", []))
        for i, piece in enumerate(pieces):
            await asyncio.sleep(0.05)
            await comm.send_input(
                {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1}
            )
        await comm.send_input({"type": "http.disconnect"})
        start = await comm.receive_output(2)
        body = await comm.receive_output(2)
        return start["status"], body["body"]

    status, body = async_to_sync(scenario)()
    assert (status, body) == (200, b"".join(pieces))
    assert seen[-1] == {"type": "http.disconnect"}
    assert all(m["type"] == "http.request" for m in seen[:-1])


def test_limit_concurrency_frees_the_turn_once_the_response_has_started():
    """A slow download (the response is streaming to a client that reads slowly) holds no
    turn: with one turn, a second request is served while the first is still sending."""
    import asyncio

    from channels.testing import HttpCommunicator

    from helpdesk.core.asgi_limits import limit_concurrency

    downloads_may_finish = asyncio.Event()

    async def download(scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if scope["path"] == "/slow":
            await send({"type": "http.response.body", "body": b"part", "more_body": True})
            await downloads_may_finish.wait()
        await send({"type": "http.response.body", "body": b"done"})

    app = limit_concurrency(download, max_concurrent=lambda: 1, max_wait=lambda: 0.3)

    async def scenario() -> tuple[int, int]:
        slow = asyncio.create_task(HttpCommunicator(app, "GET", "/slow").get_response(timeout=5))
        await asyncio.sleep(0.05)
        other = await HttpCommunicator(app, "GET", "/other").get_response(timeout=2)
        downloads_may_finish.set()
        return (await slow)["status"], other["status"]

    assert async_to_sync(scenario)() == (200, 200)


@pytest.mark.postgres
def test_application_returns_the_database_connection_before_the_response_is_sent():
    """The turn is given back when the response starts; the pooled connection must be back by
    then too, or slow downloads would hold the pool instead."""
    import asyncio
    import contextvars

    from django.db import connection

    async def scenario() -> tuple[int, int, int]:
        pool = connection.pool
        stats = pool.get_stats()
        before = stats["pool_size"] - stats["pool_available"]
        client_reads = asyncio.Event()
        started = asyncio.Event()
        status = 0
        requested = False

        async def receive() -> dict:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await client_reads.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                started.set()
            else:
                await client_reads.wait()  # a client that does not read yet

        # A context of its own, as a server gives each request (not this test's connection).
        request = contextvars.Context().run(
            asyncio.create_task, application(_scope("GET", "/healthz", []), receive, send)
        )
        await asyncio.wait_for(started.wait(), 5)
        stats = pool.get_stats()
        during = stats["pool_size"] - stats["pool_available"]
        client_reads.set()
        await asyncio.wait_for(request, 5)
        return status, before, during

    status, before, during = async_to_sync(scenario)()
    assert status == 200
    assert during == before, (before, during)
