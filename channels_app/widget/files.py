"""Attachment downloads for customers: signed, expiring links (the widget has no cookie)."""

from __future__ import annotations

from django.http import FileResponse, HttpRequest
from django.views.decorators.http import require_GET

from helpdesk.conversations.downloads import attachment_from_token, attachment_response


@require_GET
def signed_attachment(request: HttpRequest, token: str) -> FileResponse:
    return attachment_response(attachment_from_token(token))
