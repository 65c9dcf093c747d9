"""WhatsApp approved templates: what the console offers outside the 24-hour window, and the
`content_attributes` a template send passes to `message_send_reply`."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from channels_app.models import WhatsAppTemplate
from helpdesk.core.errors import DomainError
from helpdesk.inboxes.models import Channel


def templates_for_channel(channel: Channel) -> QuerySet[WhatsAppTemplate]:
    """Active templates of one channel, by name (one query)."""
    return WhatsAppTemplate.objects.filter(channel=channel, is_active=True).order_by("name")


def template_reply_attributes(
    *, template: WhatsAppTemplate, values: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """(preview text, content_attributes) for sending `template` with `values`.

    Raises DomainError naming the missing variables; unknown names are refused too, so what
    Twilio receives matches the approved template exactly.
    """
    missing = [n for n in template.variables if not str(values.get(n, "")).strip()]
    unknown = sorted(set(values) - set(template.variables))
    if missing or unknown:
        raise DomainError(
            _("Template variables missing: %(missing)s; unknown: %(unknown)s.")
            % {"missing": ", ".join(missing) or "-", "unknown": ", ".join(unknown) or "-"},
            code="template_variables",
        )
    variables = {name: str(values[name]) for name in template.variables}
    attributes = {
        "template": {
            "content_sid": template.content_sid,
            "name": template.name,
            "variables": variables,
        }
    }
    return template.render_preview(variables), attributes
