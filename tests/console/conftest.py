from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def signed_in(client: Any, agent: Any) -> Any:
    """A test client signed in as an agent."""
    client.force_login(agent)
    return client
