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
