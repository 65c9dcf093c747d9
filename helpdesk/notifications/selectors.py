"""Reads for the console's notification list and badge."""

from __future__ import annotations

from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import QuerySet

from helpdesk.notifications.models import Notification


def notifications_for(user: AbstractBaseUser) -> QuerySet[Notification]:
    """Newest first, with what the list shows (constant queries)."""
    return (
        Notification.objects.filter(recipient=user)
        .select_related("conversation__customer", "conversation__channel", "message")
        .order_by("-id")
    )


def unread_notification_count(user: AbstractBaseUser) -> int:
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()
