"""Helpers for the Twilio tests: recorded payloads, signed webhook posts, channels."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_q.models import Schedule
from twilio.request_validator import RequestValidator

from channels_app.twilio import config
from channels_app.twilio.tasks import retry_delivery
from helpdesk.conversations.services import message_send_reply
from helpdesk.inboxes.models import Channel
from tests.support import factories
from tests.support.fake_twilio import Recorded

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "twilio"
ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "test-auth-token-0123456789"
SENDER = "+15005550006"


def payload(name: str, **changes: str) -> dict[str, str]:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    data.update(changes)
    return data


def status_payload(status: str, sid: str, **changes: str) -> dict[str, str]:
    """A recorded status callback; statuses without a recording (`accepted`, `canceled`,
    `partially_delivered`, …) reuse the `sent` one with the status swapped."""
    if (FIXTURES / f"status_{status}.json").exists():
        data = payload(f"status_{status}", **changes)
    else:
        data = payload("status_sent", **{"MessageStatus": status, "SmsStatus": status, **changes})
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


def twilio_calls_back(client: Client, create: Recorded, status: str, **changes: str):
    """Send the status callback Twilio would for a recorded create: to its StatusCallback URL
    (query included), signed over that URL."""
    url = create.value("StatusCallback")
    assert url and create.sid, "the create asked for no callback or made no message"
    return post_webhook(client, url, status_payload(status, create.sid, **changes))


def twilio_conversation(channel: Channel, *, address: str = "+4790000002", kind: str = ""):
    """A conversation on `channel` with a customer reachable there, inside the reply window."""
    customer = factories.CustomerFactory()
    kind = kind or ("whatsapp" if config.is_whatsapp(channel) else "phone")
    factories.IdentityFactory(customer=customer, kind=kind, address=address)
    return factories.ConversationFactory(
        customer=customer,
        channel=channel,
        last_inbound_at=timezone.now() - timedelta(hours=1),
        assignee=factories.AgentFactory(),
    )


def agent_reply(conversation: Any, text: str = "Your order ships today."):
    return message_send_reply(conversation=conversation, author=None, text=text)


def run_scheduled_retry(message: Any) -> None:
    """Do what the worker does when the retry schedule comes due."""
    scheduled = Schedule.objects.filter(func="channels_app.twilio.tasks.retry_delivery")
    assert scheduled.count() == 1
    scheduled.delete()
    retry_delivery(message.pk)


def run_together(target: Callable[[], object], n: int = 4) -> list[object]:
    """Run `target` in `n` threads released at once (each with its own connection)."""
    barrier = threading.Barrier(n)
    results: list[object] = []

    def worker() -> None:
        try:
            barrier.wait()
            results.append(target())
        except Exception as exc:  # surfaced by the caller's assertions
            results.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return results
