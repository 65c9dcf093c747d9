from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from tests.channels_app.widget.support import SHOP_ORIGIN, WidgetClient
from tests.support import factories


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    cache.clear()  # rate-limit counters live in the cache
    yield
    cache.clear()


@pytest.fixture
def shop_channel(db: Any) -> Any:
    return factories.ChannelFactory(
        kind="web_widget",
        name="Shop widget",
        settings={"allowed_origins": [SHOP_ORIGIN], "reply_time_minutes": 120},
    )


@pytest.fixture
def visitor(shop_channel: Any) -> WidgetClient:
    client = WidgetClient(shop_channel)
    assert client.start().status_code == 200
    return client
