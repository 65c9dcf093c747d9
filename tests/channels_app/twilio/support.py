"""Helpers for the Twilio tests: recorded payloads, signed webhook posts, channels."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.conf import settings
from django.test import Client
from twilio.request_validator import RequestValidator

from channels_app.twilio import config
from helpdesk.inboxes.models import Channel
from tests.support import factories

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "twilio"
ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "test-auth-token-0123456789"
SENDER = "+15005550006"


def payload(name: str, **changes: str) -> dict[str, str]:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    data.update(changes)
    return data


def status_payload(status: str, sid: str, **changes: str) -> dict[str, str]:
    data = payload(f"status_{status}", **changes)
    for key in ("MessageSid", "SmsSid"):
        data[key] = sid
    return data


def make_channel(kind: str = "whatsapp", **credentials: str) -> Channel:
    creds = {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "sender": SENDER}
    creds.update(credentials)
    return factories.ChannelFactory(kind=kind, name=f"Twilio {kind}", credentials=creds)


def sign(url: str, params: dict[str, Any], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def post_webhook(
    client: Client,
    url: str,
    params: dict[str, Any],
    *,
    signature: str | None = "auto",
    signed_url: str | None = None,
):
    """POST like Twilio does: form-encoded, signed over the public URL."""
    headers = {}
    if signature == "auto":
        signature = sign(signed_url or url, params)
    if signature is not None:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    path = url[len(settings.PUBLIC_BASE_URL) :]
    return client.post(path, params, **headers)


def inbound_url(channel: Channel) -> str:
    return config.inbound_url(channel)


def status_url(channel: Channel) -> str:
    return config.status_url(channel)
