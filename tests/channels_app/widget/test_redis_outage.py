"""The widget's public API while Redis (the shared cache) is down."""

from __future__ import annotations

import pytest

from tests.channels_app.widget.support import WidgetClient

pytestmark = pytest.mark.django_db


def test_widget_session_and_its_rate_limit_work_while_redis_is_down(
    shop_channel, own_redis_cache
):
    shop_channel.settings["rate_limits"] = {"session_per_ip": 2}
    shop_channel.save()
    own_redis_cache.stop()
    shoppers = [WidgetClient(shop_channel) for _ in range(3)]
    assert [s.start().status_code for s in shoppers] == [200, 200, 429]
    assert shoppers[0].send("Is my parcel on its way?").status_code in (200, 201)
