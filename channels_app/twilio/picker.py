"""The console's WhatsApp template picker: outside the 24-hour window an agent can still reach
the customer with one of the channel's approved templates. The console's pane asks for this
fragment by URL, so the domain never imports the Twilio integration."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from channels_app.models import WhatsAppTemplate
from channels_app.twilio.templates import template_reply_attributes, templates_for_channel
from helpdesk.console.views.common import action_done, action_failed, agent_required
from helpdesk.console.views.conversation import load_conversation
from helpdesk.conversations.models import Conversation
from helpdesk.conversations.services import canned_variables, message_send_reply
from helpdesk.core.errors import DomainError
from helpdesk.inboxes.models import ChannelKind

PREFIX = "var-"


def _whatsapp_conversation(request: HttpRequest, conversation_id: int) -> Conversation:
    conversation = load_conversation(request, conversation_id)
    if conversation.channel.kind != ChannelKind.WHATSAPP:
        raise Http404
    return conversation


@require_GET
@agent_required
def template_picker(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _whatsapp_conversation(request, conversation_id)
    known = canned_variables(conversation=conversation, agent=request.user)
    templates = [
        {
            "template": t,
            # Variables named like canned-response variables start filled in (editable).
            "fields": [
                (name, known.get(name) or known.get(f"customer.{name}", ""))
                for name in t.variables
            ],
        }
        for t in templates_for_channel(conversation.channel)
    ]
    return render(
        request,
        "twilio/_template_picker.html",
        {"conversation": conversation, "templates": templates, "prefix": PREFIX},
    )


@require_POST
@agent_required
def template_send(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = _whatsapp_conversation(request, conversation_id)
    next_url = reverse("console:conversation", args=[conversation.pk])
    template = WhatsAppTemplate.objects.filter(
        channel=conversation.channel, is_active=True, pk=request.POST.get("template") or 0
    ).first()
    if template is None:
        return action_failed(request, next_url, _("Choose one of the channel's templates."))
    values = {
        key[len(PREFIX) :]: value
        for key, value in request.POST.items()
        if key.startswith(PREFIX) and key[len(PREFIX) :] in template.variables
    }
    try:
        text, attributes = template_reply_attributes(template=template, values=values)
        message = message_send_reply(
            conversation=conversation,
            author=request.user,
            text=text,
            client_id=request.POST.get("client_id") or None,
            content_attributes=attributes,
        )
    except DomainError as exc:
        return action_failed(request, next_url, exc)
    return action_done(request, next_url, message_id=message.pk)
