"""The channel layer with Redis: channels-redis pub/sub, made to live through a Redis outage.

- Every call that needs Redis gives up after OPERATION_TIMEOUT seconds and raises
  ChannelLayerUnavailable (the connections have short socket timeouts too, see settings).
- After a failure, calls fail at once for PAUSE_AFTER_FAILURE seconds instead of each waiting
  for a Redis that is not there: a request that raises several events, or a socket that joins
  ten groups, pays for one timeout at most.
- `new_channel` does not fail: while Redis is down a consumer's own channel exists in this
  process only (its groups reach it once joined, and its own subscription is made on its next
  group join), so a websocket can still be accepted.

Subscriptions made before an outage come back by themselves when Redis does (redis-py
subscribes again on reconnect). What an outage loses is the live push of events raised during
it: they are in the event log, and open sockets catch up from it on their next ping
(channels_app.catch_up).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from channels_redis.pubsub import RedisPubSubChannelLayer
from redis.exceptions import RedisError

from helpdesk.core.outage_log import warn_outage

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ChannelLayerUnavailable(ConnectionError):
    """Redis could not be reached, or did not answer in time."""


class OutageTolerantPubSubLayer(RedisPubSubChannelLayer):
    OPERATION_TIMEOUT = 1.0
    PAUSE_AFTER_FAILURE = 2.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._paused_until = 0.0

    async def _redis(self, call: Callable[[], Awaitable[T]], *, gated: bool = True) -> T:
        if gated and time.monotonic() < self._paused_until:
            raise ChannelLayerUnavailable("Redis failed a moment ago; not asked again yet")
        try:
            async with asyncio.timeout(self.OPERATION_TIMEOUT):
                return await call()
        except (RedisError, OSError, TimeoutError) as exc:
            self._paused_until = time.monotonic() + self.PAUSE_AFTER_FAILURE
            warn_outage(
                logger,
                "channel-layer",
                "channel layer unreachable (%s): websockets stay open and catch up from the "
                "event log on their pings until Redis answers again",
                type(exc).__name__,
            )
            raise ChannelLayerUnavailable(type(exc).__name__) from exc

    async def new_channel(self, prefix: str = "specific.") -> str:
        layer = self._get_layer()
        channel = f"{layer.prefix}{prefix}{uuid.uuid4().hex}"
        try:
            await self._redis(lambda: layer._subscribe_to_channel(channel))
        except ChannelLayerUnavailable:
            layer.channels.setdefault(channel, asyncio.Queue())
        return channel

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        layer = self._get_layer()
        await self._redis(lambda: layer.send(channel, message))

    async def group_add(self, group: str, channel: str) -> None:
        layer = self._get_layer()
        shard = layer._get_shard(channel)
        # Subscribes a channel made while Redis was down; a no-op for any other.
        await self._redis(lambda: shard.subscribe(channel))
        await self._redis(lambda: layer.group_add(group, channel))

    async def group_discard(self, group: str, channel: str) -> None:
        layer = self._get_layer()
        # Not skipped during a pause: it forgets the member in this process before it asks
        # Redis to unsubscribe (which may then fail, leaving a subscription nobody reads).
        await self._redis(lambda: layer.group_discard(group, channel), gated=False)

    async def group_send(self, group: str, message: dict[str, Any]) -> None:
        layer = self._get_layer()
        await self._redis(lambda: layer.group_send(group, message))

    async def discard_channel(self, channel: str) -> None:
        """Forget a channel from `new_channel` that will not be received on again (pub/sub
        keeps a channel, and its Redis subscription, until a receive on it is cancelled)."""
        layer = self._get_layer()
        layer.channels.pop(channel, None)
        shard = layer._get_shard(channel)
        # If Redis is down the subscription stays, and gets nothing: nobody sends to it.
        with contextlib.suppress(ChannelLayerUnavailable):
            await self._redis(lambda: shard.unsubscribe(channel))
