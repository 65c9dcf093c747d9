from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    ASSIGNED = "assigned", _("Assigned to you")
    DELIVERY_FAILED = "delivery_failed", _("A reply could not be delivered")
    SLA_WARNING = "sla_warning", _("SLA deadline approaching")
    SLA_BREACHED = "sla_breached", _("SLA deadline missed")


class Notification(models.Model):
    """Something an agent must hear about, kept until they have seen it (an agent who was
    offline finds it later). Unique per recipient and `key`, so a job that runs twice or a
    webhook delivered twice notifies once."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recipient"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=NotificationKind.choices)
    key = models.CharField(max_length=120)
    conversation = models.ForeignKey(
        "conversations.Conversation",
        verbose_name=_("conversation"),
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    message = models.ForeignKey(
        "conversations.Message",
        verbose_name=_("message"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "key"], name="notification_once")
        ]
        indexes = [
            models.Index(fields=["recipient", "-id"], name="notification_recipient"),
            models.Index(
                fields=["recipient"], name="notification_unread", condition=Q(read_at__isnull=True)
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.conversation_id}"
