"""Attachment downloads for agents: only from conversations the agent may see."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest
from django.views.decorators.http import require_GET

from helpdesk.console.selectors import visible_conversations
from helpdesk.console.views.common import agent_required
from helpdesk.conversations.downloads import attachment_response, attachment_stored


@require_GET
@agent_required
def attachment(request: HttpRequest, attachment_id: int) -> FileResponse:
    found = attachment_stored(
        attachment_id, message__conversation__in=visible_conversations(request.user)
    )
    return attachment_response(found)
