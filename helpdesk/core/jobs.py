"""Background jobs: enqueued only after the surrounding transaction commits.

A task takes ids, loads rows, guards on their state (so a second run is harmless) and calls a
service. Tasks are referenced by dotted path so the domain never imports the worker.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django_q.tasks import async_task

logger = logging.getLogger(__name__)


def enqueue_on_commit(task: str, *args: Any, **kwargs: Any) -> None:
    """Queue `task(*args, **kwargs)` once the current transaction commits (at once outside one)."""

    def _enqueue() -> None:
        async_task(task, *args, **kwargs)

    transaction.on_commit(_enqueue)


def enqueue_now_rollback_unsafe(task: str, *args: Any, **kwargs: Any) -> None:
    """Queue immediately. Only for code already running after commit (jobs, sweepers)."""
    async_task(task, *args, **kwargs)
