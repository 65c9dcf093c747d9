"""Template helpers for the console: activity lines in the reader's language, authors,
delivery badges and durations."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import template
from django.conf import settings
from django.utils.dateparse import parse_datetime
from django.utils.formats import date_format
from django.utils.timezone import localtime
from django.utils.translation import gettext as _

from helpdesk.conversations.models import ConversationStatus, DeliveryStatus, Message, Priority

register = template.Library()


def _status(value: Any) -> str:
    try:
        return str(ConversationStatus(value).label)
    except ValueError:
        return str(value or "")


def _priority(value: Any) -> str:
    try:
        return str(Priority(int(value)).label)
    except (TypeError, ValueError):
        return str(value or "")


def _when(value: Any) -> str:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    return date_format(localtime(parsed), "SHORT_DATETIME_FORMAT") if parsed else ""


def _sla_target(value: Any) -> str:
    from helpdesk.sla.models import SLATarget

    try:
        return str(SLATarget(value).label)
    except ValueError:
        return str(value or "")


@register.simple_tag
def activity_line(message: Message) -> str:
    """The timeline line for an activity message, built from its structured details so each
    agent reads it in their own language. Unknown events fall back to the stored English."""
    attrs = message.content_attributes or {}
    event = attrs.get("event", "")
    by = author_name(message) if message.sender_user_id else _("the system")
    lines: dict[str, Any] = {
        "assigned": lambda: (
            _("Assigned to %(who)s by %(by)s") % {"who": attrs.get("assignee_name", "?"), "by": by}
        ),
        "unassigned": lambda: _("Unassigned by %(by)s") % {"by": by},
        "status_changed": lambda: (
            _("Snoozed until %(when)s by %(by)s")
            % {"when": _when(attrs.get("snoozed_until")), "by": by}
            if attrs.get("new_status") == "snoozed" and attrs.get("snoozed_until")
            else _("Status changed from %(old)s to %(new)s by %(by)s")
            % {
                "old": _status(attrs.get("old_status")),
                "new": _status(attrs.get("new_status")),
                "by": by,
            }
        ),
        "priority_changed": lambda: (
            _("Priority changed from %(old)s to %(new)s by %(by)s")
            % {
                "old": _priority(attrs.get("old_priority")),
                "new": _priority(attrs.get("new_priority")),
                "by": by,
            }
        ),
        "team_changed": lambda: (
            _("Team set to %(team)s by %(by)s") % {"team": attrs.get("team_name") or "—", "by": by}
        ),
        "labels_changed": lambda: (
            _("Labels changed by %(by)s: %(changes)s")
            % {
                "by": by,
                "changes": ", ".join(
                    [f"+{x}" for x in attrs.get("added", [])]
                    + [f"-{x}" for x in attrs.get("removed", [])]
                ),
            }
        ),
        "reopened_by_customer": lambda: _("Reopened by a customer message"),
        "snooze_ended": lambda: _("Snooze ended"),
        "sla_warning": lambda: (
            _("SLA warning: %(target)s due %(when)s")
            % {"target": _sla_target(attrs.get("target")), "when": _when(attrs.get("due_at"))}
        ),
        "sla_breached": lambda: (
            _("SLA breached: %(target)s was due %(when)s")
            % {"target": _sla_target(attrs.get("target")), "when": _when(attrs.get("due_at"))}
        ),
        "sla_met": lambda: _("SLA met: %(target)s") % {"target": _sla_target(attrs.get("target"))},
        "sla_met_late": lambda: (
            _("SLA target done after breach: %(target)s")
            % {"target": _sla_target(attrs.get("target"))}
        ),
    }
    build = lines.get(event)
    return str(build()) if build else message.text


@register.filter
def author_name(message: Message) -> str:
    user = message.sender_user
    if user is None:
        return {"bot": _("Bot"), "system": _("System")}.get(message.sender_type, _("Customer"))
    profile = getattr(user, "agent_profile", None)
    return profile.display_name if profile else user.get_username()


@register.filter
def delivery_label(status: str) -> str:
    try:
        return str(DeliveryStatus(status).label)
    except ValueError:
        return status


@register.filter
def duration(value: timedelta | None) -> str:
    """'3 h 12 min' style, for the WhatsApp window; empty for None."""
    if value is None:
        return ""
    seconds = max(0, int(value.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes = rest // 60
    if hours:
        return _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}
    return _("%(m)s min") % {"m": minutes}


@register.filter
def initials(name: str) -> str:
    parts = [p for p in (name or "").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


@register.simple_tag(takes_context=True)
def console_nav_counts(context: template.Context) -> dict[str, Any]:
    """What the navigation of any console page shows: unread counts per view, unread
    notifications, and the team, channel and label views with their unread counts
    (a constant 8 queries, once per request)."""
    from helpdesk.console.selectors import filter_options, nav_breakdown, nav_counts
    from helpdesk.notifications.selectors import unread_notification_count

    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not hasattr(user, "agent_profile"):
        return {}
    cached = getattr(request, "_console_nav_counts", None)
    if cached is None:
        options = filter_options()
        breakdown = nav_breakdown(user)
        cached = {
            **nav_counts(user),
            "notifications": unread_notification_count(user),
            "teams": [(t, breakdown["teams"].get(t.pk, 0)) for t in options["teams"]],
            "channels": [(c, breakdown["channels"].get(c.pk, 0)) for c in options["channels"]],
            "labels": [(lb, breakdown["labels"].get(lb.name, 0)) for lb in options["labels"]],
            "demo": settings.DEMO_ENABLED,  # `make run` links its demo shop; production not
        }
        request._console_nav_counts = cached
    return cached
