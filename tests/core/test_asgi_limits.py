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
