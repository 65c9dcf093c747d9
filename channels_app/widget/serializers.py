"""Input and output shapes of the widget API. Output carries plain text only: the widget puts
it in the page with `textContent`, so nothing a shopper or agent typed is ever parsed as HTML."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework import serializers

from channels_app.widget.identity import ShopIdentity
from helpdesk.conversations.downloads import attachment_signed_path
from helpdesk.conversations.models import (
    AttachmentStatus,
    Conversation,
    Message,
    MessageDirection,
    SenderType,
)
from helpdesk.core.text import clean_text

PREVIEW_LENGTH = 120


class StorableCharField(serializers.CharField):
    """Free text from the page, made storable before it is validated: NUL dropped, a lone
    surrogate replaced (`clean_text`). A plain CharField refuses either with a 400, which would
    lose a shopper's message over an invisible character.

    Identifiers (tokens, ids, addresses, signatures) stay plain CharFields: changed, they would
    name something else, so NUL there is refused."""

    def to_internal_value(self, data: Any) -> str:
        return super().to_internal_value(clean_text(data) if isinstance(data, str) else data)


class ShopIdentityIn(serializers.Serializer):
    customer_id = serializers.CharField(max_length=200, required=False, allow_blank=True)
    email = serializers.EmailField(max_length=320, required=False, allow_blank=True)
    name = StorableCharField(max_length=200, required=False, allow_blank=True)
    timestamp = serializers.IntegerField()
    signature = serializers.CharField(max_length=128)


def shop_identity(data: dict[str, Any]) -> ShopIdentity:
    return ShopIdentity(
        customer_id=data.get("customer_id", ""),
        email=data.get("email", ""),
        name=data.get("name", ""),
        timestamp=data["timestamp"],
        signature=data["signature"],
    )


class SessionIn(serializers.Serializer):
    token = serializers.CharField(max_length=2000, required=False, allow_blank=True)
    identity = ShopIdentityIn(required=False, allow_null=True)
    lang = StorableCharField(max_length=10, required=False, allow_blank=True)


class MessageIn(serializers.Serializer):
    client_id = serializers.CharField(max_length=64)
    text = StorableCharField(
        max_length=10_000, required=False, allow_blank=True, trim_whitespace=False
    )
    conversation_id = serializers.IntegerField(required=False, allow_null=True)
    new_conversation = serializers.BooleanField(required=False, default=False)
    lang = StorableCharField(max_length=10, required=False, allow_blank=True)


class EmailIn(serializers.Serializer):
    email = serializers.CharField(max_length=320)


class ReadIn(serializers.Serializer):
    conversation_id = serializers.IntegerField()
    up_to = serializers.IntegerField(min_value=0)


def _sender(message: Message) -> str:
    if message.direction == MessageDirection.INBOUND:
        return "you"
    return "bot" if message.sender_type in (SenderType.BOT, SenderType.SYSTEM) else "agent"


def _author(message: Message) -> str:
    user = message.sender_user
    if user is None or message.direction == MessageDirection.INBOUND:
        return ""
    profile = getattr(user, "agent_profile", None)
    # First name only: shoppers see who answers, not the agent's full identity.
    return (profile.display_name if profile else user.get_username()).split(" ")[0]


def message_out(message: Message, request: HttpRequest) -> dict[str, Any]:
    # The widget's own id for a shopper's message: it replaces the optimistic bubble with the
    # stored message however the message reaches it (POST answer or catch-up after a lost one).
    client_id = (message.content_attributes or {}).get("widget_client_id", "")
    return {
        "id": message.pk,
        "client_id": client_id if message.direction == MessageDirection.INBOUND else "",
        "conversation_id": message.conversation_id,
        "sender": _sender(message),
        "author": _author(message),
        "text": message.text,
        "created_at": message.created_at.isoformat(),
        "status": message.delivery_status,
        "attachments": [
            {
                "name": a.filename,
                "type": a.content_type,
                "size": a.size,
                "status": a.status,
                # A signed, expiring link: files are never public (re-issued on every fetch).
                "url": request.build_absolute_uri(attachment_signed_path(a))
                if a.file and a.status == AttachmentStatus.STORED
                else "",
            }
            for a in message.attachments.all()
        ],
    }


def conversation_out(conversation: Conversation) -> dict[str, Any]:
    preview = getattr(conversation, "preview", "") or ""
    return {
        "id": conversation.pk,
        "status": conversation.status,
        "created_at": conversation.created_at.isoformat(),
        "last_activity_at": conversation.last_activity_at.isoformat(),
        "preview": preview[:PREVIEW_LENGTH],
    }
