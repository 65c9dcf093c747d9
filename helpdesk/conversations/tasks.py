"""Scheduled conversation jobs."""

from __future__ import annotations

from helpdesk.conversations.services import conversations_wake_snoozed


def wake_snoozed() -> int:
    return conversations_wake_snoozed()
