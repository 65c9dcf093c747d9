"""Twilio webhooks through Django's request cycle. In production the raw ASGI route
(`channels_app.ingest.asgi`) answers these URLs before Django sees them; this view serves the
same handler to the test client and to any deployment that runs Django without it. Each
channel has its own URLs (by `public_id`), so a Messaging Service pool never needs a lookup."""

from __future__ import annotations

from uuid import UUID

from asgiref.sync import async_to_sync
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from channels_app.ingest.http import AcceptRequest, AcceptResponse
from channels_app.ingest.processor import process_inline_if_configured
from channels_app.ingest.store import Overloaded
from channels_app.twilio.accept import accept


def _as_accept_request(request: HttpRequest) -> AcceptRequest:
    return AcceptRequest(
        method=request.method or "POST",
        path=request.path,
        query_string=request.META.get("QUERY_STRING", ""),
        headers={name.lower(): value for name, value in request.headers.items()},
        body=b"",
        parsed_form=request.POST,
    )


def _respond(response: AcceptResponse) -> HttpResponse:
    django_response = HttpResponse(
        response.body, status=response.status, content_type=response.content_type
    )
    for name, value in response.headers.items():
        django_response[name] = value
    return django_response


def _accept(request: HttpRequest, public_id: UUID, kind: str) -> HttpResponse:
    try:
        response = async_to_sync(accept)(
            _as_accept_request(request), public_id=str(public_id), kind=kind
        )
    except Overloaded:
        return HttpResponse("Busy, please retry shortly.", status=503, headers={"Retry-After": "1"})
    if response.status < 300:
        process_inline_if_configured()
    return _respond(response)


@csrf_exempt
@require_POST
def inbound(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return _accept(request, public_id, "inbound")


@csrf_exempt
@require_POST
def status(request: HttpRequest, public_id: UUID) -> HttpResponse:
    return _accept(request, public_id, "status")
