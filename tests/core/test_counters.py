"""Counters against a Redis of the test's own that goes away and comes back."""

from __future__ import annotations

import logging
import time

import pytest
from django.core.cache import cache

from helpdesk.core import counters, outage_log
from helpdesk.core.counters import counter_increment, counter_reset, counter_value


@pytest.fixture
def shared_cache(own_redis_cache, monkeypatch):
    monkeypatch.setattr(counters, "SHARED_RETRY_SECONDS", 0.3)
    monkeypatch.setattr(outage_log, "_last", {})
    return own_redis_cache


def test_counters_count_in_the_process_while_redis_is_down_then_in_redis_again(
    shared_cache, caplog
):
    assert [counter_increment("k", timeout=60) for _ in range(2)] == [1, 2]
    shared_cache.stop()
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="helpdesk.core.counters"):
        assert [counter_increment("k", timeout=60) for _ in range(3)] == [1, 2, 3]
        assert counter_value("k") == 3
    assert time.monotonic() - started < 0.5
    warnings = [r.message for r in caplog.records if r.name == "helpdesk.core.counters"]
    assert len(warnings) == 1 and "count in this process" in warnings[0]

    shared_cache.start()  # empty, as a restarted Redis without persistence is
    time.sleep(0.35)
    assert counter_increment("k", timeout=60) == 1
    assert cache.get("k") == 1  # counted in Redis again
    counter_reset("k")
    assert counter_value("k") == 0


def test_counters_give_up_on_a_frozen_redis_within_a_second(shared_cache):
    counter_increment("k", timeout=60)
    shared_cache.freeze()
    started = time.monotonic()
    assert counter_increment("k", timeout=60) == 1  # this process counts from here
    assert time.monotonic() - started < 1.0
    started = time.monotonic()
    assert counter_increment("k", timeout=60) == 2
    assert time.monotonic() - started < 0.05  # Redis is not asked again for a while
