"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from helpdesk.core.models import RealtimeEvent
from tests.support import factories


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
    from helpdesk.core import relay

    relay._seen.clear()
    yield
