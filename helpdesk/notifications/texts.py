"""What a notification says, in the reader's language (rendered at read time)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from helpdesk.notifications.models import Notification, NotificationKind


def notification_text(notification: Notification) -> str:
    data = notification.data or {}
    customer = str(notification.conversation.customer)
    if notification.kind == NotificationKind.ASSIGNED:
        by = data.get("by")
        if by:
            return _("%(by)s assigned you the conversation with %(customer)s.") % {
                "by": by,
                "customer": customer,
            }
        return _("You were assigned the conversation with %(customer)s.") % {"customer": customer}
    if notification.kind == NotificationKind.DELIVERY_FAILED:
        reason = data.get("reason") or data.get("code") or _("unknown reason")
        return _("A reply to %(customer)s could not be delivered: %(reason)s") % {
            "customer": customer,
            "reason": reason,
        }
    if notification.kind == NotificationKind.SLA_WARNING:
        return _("The SLA deadline for %(customer)s is approaching.") % {"customer": customer}
    if notification.kind == NotificationKind.SLA_BREACHED:
        return _("The SLA deadline for %(customer)s was missed.") % {"customer": customer}
    return notification.get_kind_display()
