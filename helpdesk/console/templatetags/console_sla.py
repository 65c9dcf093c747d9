"""The SLA badge the inbox list and the conversation header show; the page's script makes it
count down live (static/console/sla.js)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.conversations.models import Conversation
from helpdesk.sla.display import sla_display
from helpdesk.sla.models import SLATarget

register = template.Library()


def target_label(name: str | None) -> str:
    try:
        return str(SLATarget(name).label)
    except ValueError:
        return _("SLA")


@register.inclusion_tag("console/_sla_badge.html")
def sla_badge(conversation: Conversation) -> dict[str, Any]:
    """Pure: reads the row's SLA state only (no queries), so lists stay constant-query."""
    shown = sla_display(conversation, timezone.now())
    entry = (conversation.sla_state or {}).get("targets", {}).get(shown["target"] or "", {})
    return {
        **shown,
        "warn_at": entry.get("warn") or "",
        "breached": bool(entry.get("breached")),
        "label": target_label(shown["target"]),
    }
