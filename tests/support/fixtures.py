"""Shared pytest fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from helpdesk.core.models import RealtimeEvent
from tests.support import factories


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
