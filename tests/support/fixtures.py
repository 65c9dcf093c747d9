"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from helpdesk.core.models import RealtimeEvent
from tests.support import factories
from tests.support.redis_server import RedisServer


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Stored files (uploads, fetched media) go to a per-test temporary folder, never into the
    project's media/."""
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("media")


@pytest.fixture
def agent(db: Any) -> Any:
    return factories.AgentFactory()


@pytest.fixture
def manager(db: Any) -> Any:
    return factories.ManagerFactory()


@pytest.fixture
def widget_channel(db: Any) -> Any:
    return factories.ChannelFactory(kind="web_widget", name="Shop widget")


class EventLog:
    """Realtime events recorded during a test (the event log is the source of truth)."""

    def __init__(self) -> None:
        self.start = RealtimeEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def all(self) -> list[dict[str, Any]]:
        return [
            {**e.payload, "group": e.group}
            for e in RealtimeEvent.objects.filter(id__gt=self.start).order_by("id")
        ]

    def types(self) -> list[str]:
        return [e["type"] for e in self.all()]


@pytest.fixture
def events(db: Any) -> Iterator[EventLog]:
    yield EventLog()


@pytest.fixture(autouse=True)
def _fresh_relay_memory() -> Iterator[None]:
    """The relay remembers event ids it delivered in this process. Test databases roll back,
    and SQLite then hands the same ids out again, which production never does (a rolled-back
    event is never delivered); forget them between tests."""
    from channels_app import catch_up
    from helpdesk.core import relay

    relay._seen.clear()
    catch_up.forget_head()  # ids are handed out again after a rollback, as above
    yield


@pytest.fixture(autouse=True)
def _fresh_counter_fallback() -> Iterator[None]:
    """Counts kept in this process while a test's own Redis was down are forgotten with it."""
    from helpdesk.core import counters

    yield
    counters._process_store.clear()
    counters._shared_paused_until = 0.0


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A started redis-server of this test's own (the test may stop and restart it). Tests
    that use it are deselected, and reported, where redis-server is not installed."""
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_redis_cache(own_redis: RedisServer) -> Iterator[RedisServer]:
    """The cache on `own_redis`, with the options the settings give a production Redis (restored
    before other fixtures clear the usual cache)."""
    from django.test import override_settings

    from config.settings import redis_cache

    with override_settings(CACHES={"default": redis_cache(own_redis.url)}):
        yield own_redis


@pytest.fixture
def on_own_redis(own_redis: RedisServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[RedisServer]:
    """REDIS_URL, the cache and the channel layer on `own_redis`, configured as the settings
    configure a production Redis. The layer asks again soon after a failure (tests restart
    Redis and expect it to be used at once)."""
    from channels.layers import channel_layers
    from django.test import override_settings

    from config.settings import redis_cache, redis_channel_layer
    from helpdesk.core.channel_layer import OutageTolerantPubSubLayer

    monkeypatch.setattr(OutageTolerantPubSubLayer, "PAUSE_AFTER_FAILURE", 0.1)
    with override_settings(
        REDIS_URL=own_redis.url,
        CACHES={"default": redis_cache(own_redis.url)},
        CHANNEL_LAYERS={"default": redis_channel_layer(own_redis.url)},
    ):
        channel_layers.backends.clear()
        try:
            yield own_redis
        finally:
            channel_layers.backends.clear()
