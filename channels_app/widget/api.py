"""Widget API operations: one class per operation, input serializer next to it."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from channels_app.widget import selectors, services
from channels_app.widget.identity import (
    VisitorSession,
    visitor_token_check,
    visitor_token_issue,
)
from channels_app.widget.serializers import (
    EmailIn,
    MessageIn,
    ReadIn,
    SessionIn,
    conversation_out,
    message_out,
    shop_identity,
)
from channels_app.widget.uploads import WIDGET_TYPES, widget_upload_read
from channels_app.widget.views import WidgetAPIView
from helpdesk.core.errors import DomainError
from helpdesk.customers.models import Customer
from helpdesk.inboxes.models import Channel
from helpdesk.sla.promises import reply_expectation, reply_expectation_text


def expectation(channel: Channel, language: str) -> str:
    return reply_expectation_text(reply_expectation(channel=channel), language=language)


def _state(channel: Channel, customer: Customer | None) -> dict[str, Any]:
    if customer is None:
        return {"has_history": False, "email_known": False, "awaiting_reply": False}
    return {
        "has_history": True,
        "email_known": selectors.customer_has_email(customer),
        "awaiting_reply": selectors.awaiting_reply(channel=channel, customer=customer),
    }


def _valid(serializer_class: type, data: Any) -> Any:
    serializer = serializer_class(data=data)
    if not serializer.is_valid():
        field, problems = next(iter(serializer.errors.items()))
        reason = problems[0] if isinstance(problems, list) else problems
        if isinstance(reason, dict):  # nested serializer
            inner, inner_problems = next(iter(reason.items()))
            field, reason = f"{field}.{inner}", inner_problems[0]
        raise DomainError(f"{field}: {reason}", code="invalid")
    return serializer


class SessionView(WidgetAPIView):
    """Start or resume: returns a (new) visitor token, the reply expectation and the state."""

    needs_session = False

    def post(self, request: Request, public_id: str) -> Response:
        self.rate("session")  # per IP, before the body is read
        data = _valid(SessionIn, request.data)
        token = data.validated_data.get("token", "")
        resumed = _resumable(self.channel, token)
        if resumed is not None:
            self.rate("session", visitor_only=resumed)
        identity_data = data.validated_data.get("identity")
        identity = shop_identity(identity_data) if identity_data else None
        session, customer = services.widget_session_start(
            channel=self.channel, token=token, identity=identity
        )
        language = self.language(data.validated_data.get("lang"))
        return Response(
            {
                "token": visitor_token_issue(channel=self.channel, session=session),
                "verified": session.verified,
                "channel": {"name": self.channel.name},
                "expectation": expectation(self.channel, language),
                "lang": language,
                "ws_path": "/ws/widget/",
                "upload": {
                    "types": list(WIDGET_TYPES),
                    "max_bytes": settings.ATTACHMENT_MAX_BYTES,
                },
                **_state(self.channel, customer),
            }
        )


def _resumable(channel: Channel, token: str) -> VisitorSession | None:
    """The visitor a session request resumes, for its rate limit (the service decides what a
    bad or expired token means)."""
    if not token:
        return None
    try:
        return visitor_token_check(channel=channel, token=token)
    except DomainError:
        return None


def _cursor_param(request: Request) -> selectors.ConversationCursor | None:
    value = request.query_params.get("cursor")
    if value in (None, ""):
        return None
    cursor = selectors.ConversationCursor.decode(value)
    if cursor is None:
        raise DomainError(_("This list position is not valid."), code="invalid")
    return cursor


class ConversationListView(WidgetAPIView):
    """A page of the shopper's conversations, newest first; `next_cursor` (null on the last
    page) goes back as `?cursor=` for the older ones."""

    def get(self, request: Request, public_id: str) -> Response:
        self.rate("conversations")
        cursor = _cursor_param(request)
        customer = self.customer()
        if customer is None:
            return Response({"conversations": [], "next_cursor": None})
        rows, next_cursor = selectors.widget_conversations(
            channel=self.channel, customer=customer, cursor=cursor
        )
        return Response(
            {
                "conversations": [conversation_out(c) for c in rows],
                "next_cursor": next_cursor.encode() if next_cursor else None,
            }
        )


def _int_param(request: Request, name: str) -> int | None:
    value = request.query_params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise DomainError(
            _("%(name)s: a message id is a number.") % {"name": name}, code="invalid"
        ) from exc


class MessageListView(WidgetAPIView):
    def get(self, request: Request, public_id: str, conversation_id: int) -> Response:
        self.rate("history")
        customer = self.require_customer()
        conversation = selectors.widget_conversation(
            channel=self.channel, customer=customer, pk=conversation_id
        )
        if conversation is None:
            raise Http404
        messages, has_more = selectors.widget_messages(
            conversation=conversation,
            after=_int_param(request, "after"),
            before=_int_param(request, "before"),
        )
        return Response(
            {
                "conversation": {"id": conversation.pk, "status": conversation.status},
                "messages": [message_out(m, request) for m in messages],
                "has_more": has_more,
            }
        )


class SendView(WidgetAPIView):
    """A shopper's message (JSON, or multipart with one `file`). A retry with the same
    `client_id` answers 200 with the stored message instead of 201."""

    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def post(self, request: Request, public_id: str) -> Response:
        assert self.session is not None
        # Rate-limit before parsing: a flood of uploads must not be read first.
        self.rate("upload" if request.content_type.startswith("multipart/") else "message")
        upload = request.FILES.get("file")
        data = _valid(MessageIn, request.data).validated_data
        attachments = (widget_upload_read(upload),) if upload else ()
        language = self.language(data.get("lang"))
        result = services.widget_message_send(
            channel=self.channel,
            session=self.session,
            text=data.get("text", ""),
            client_id=data["client_id"],
            conversation_id=data.get("conversation_id"),
            new_conversation=data.get("new_conversation", False),
            locale=language,
            attachments=attachments,
        )
        customer = result.message.conversation.customer
        message = selectors.public_messages(result.message.conversation).get(
            pk=result.message.pk
        )
        return Response(
            {
                "message": message_out(message, request),
                "created": result.created,
                "expectation": expectation(self.channel, language),
                **_state(self.channel, customer),
            },
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class EmailView(WidgetAPIView):
    def post(self, request: Request, public_id: str) -> Response:
        self.rate("email")
        customer = self.require_customer()
        data = _valid(EmailIn, request.data).validated_data
        stored = services.widget_email_store(customer=customer, email=data["email"])
        return Response({"stored": stored, "email_known": True})


class ReadView(WidgetAPIView):
    def post(self, request: Request, public_id: str) -> Response:
        self.rate("read")
        customer = self.require_customer()
        data = _valid(ReadIn, request.data).validated_data
        changed = services.widget_mark_read(
            channel=self.channel,
            customer=customer,
            conversation_id=data["conversation_id"],
            up_to=data["up_to"],
        )
        return Response({"read": changed})
