"""Twilio webhooks: signature first, then parse, then one service call. Each channel has its
own URLs (by `public_id`), so a Messaging Service pool never needs a lookup by `To`."""

from __future__ import annotations

import logging
from uuid import UUID

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import get_object_or_404
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from channels_app.twilio import config, signature
from channels_app.twilio.inbound import inbound_receive
from channels_app.twilio.parsing import MalformedPayload, parse_inbound, parse_status
from channels_app.twilio.status import status_event_record
from helpdesk.core.errors import DomainError
from helpdesk.inboxes.models import Channel

logger = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response/>'


def _channel(public_id: UUID) -> Channel:
    return get_object_or_404(
        Channel, public_id=public_id, kind__in=config.TWILIO_KINDS, is_active=True
    )


def _bad(reason: str) -> HttpResponse:
    return HttpResponseBadRequest(reason, content_type="text/plain; charset=utf-8")


@csrf_exempt
@require_POST
def inbound(request: HttpRequest, public_id: UUID) -> HttpResponse:
    channel = _channel(public_id)
    if not signature.is_signed(channel, request):
        logger.warning("twilio inbound: bad signature for channel %s", channel.pk)
        return HttpResponseForbidden("Invalid Twilio signature.", content_type="text/plain")
    try:
        parsed = parse_inbound(channel, request.POST)
        inbound_receive(channel=channel, inbound=parsed)
    except MalformedPayload as exc:
        return _bad(exc.reason)
    except DomainError as exc:
        return _bad(exc.message)
    return HttpResponse(EMPTY_TWIML, content_type="text/xml")


@csrf_exempt
@require_POST
def status(request: HttpRequest, public_id: UUID) -> HttpResponse:
    channel = _channel(public_id)
    if not signature.is_signed(channel, request):
        logger.warning("twilio status: bad signature for channel %s", channel.pk)
        return HttpResponseForbidden("Invalid Twilio signature.", content_type="text/plain")
    try:
        callback = parse_status(channel, request.POST, message_ref=request.GET.get("m", ""))
    except MalformedPayload as exc:
        return _bad(exc.reason)
    status_event_record(channel=channel, callback=callback)
    return HttpResponse(status=204)
