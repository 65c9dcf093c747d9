"""The widget's websocket through the real ASGI application: shops' origins are the widget
channel's business (not ALLOWED_HOSTS); the console's socket stays same-site only."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator

from config.asgi import application
from tests.channels_app.widget.support import SHOP_ORIGIN

pytestmark = pytest.mark.django_db(transaction=True)


def connects(path: str, origin: str) -> bool:
    async def scenario() -> bool:
        ws = WebsocketCommunicator(
            application, path, headers=[(b"origin", origin.encode()), (b"host", b"localhost")]
        )
        connected, _ = await ws.connect()
        await ws.disconnect()
        return connected

    return async_to_sync(scenario)()


def test_widget_socket_accepts_the_shops_origin_through_the_asgi_app(shop_channel: Any):
    assert SHOP_ORIGIN not in ("http://localhost", "http://testserver")
    assert connects(f"/ws/widget/?channel={shop_channel.public_id}", SHOP_ORIGIN)
    assert not connects(f"/ws/widget/?channel={shop_channel.public_id}", "https://evil.example")


def test_console_socket_refuses_foreign_origins_through_the_asgi_app():
    assert not connects("/ws/console/", SHOP_ORIGIN)
