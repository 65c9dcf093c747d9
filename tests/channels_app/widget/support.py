"""Helpers for widget tests: a client that speaks to the public API from an allowed origin."""

from __future__ import annotations

import time
import uuid
from typing import Any

from django.core import signing
from django.test import Client

from channels_app.widget import identity as identity_module
from channels_app.widget.identity import identity_sign
from helpdesk.inboxes.models import Channel

SHOP_ORIGIN = "https://shop.example"


class WidgetClient:
    """One browser: keeps its visitor token like widget.js keeps it in localStorage."""

    def __init__(
        self, channel: Channel, *, origin: str = SHOP_ORIGIN, ip: str = "203.0.113.7"
    ) -> None:
        self.channel = channel
        self.origin = origin
        self.token = ""
        self.client = Client(HTTP_ORIGIN=origin, REMOTE_ADDR=ip)

    def url(self, path: str) -> str:
        return f"/widget/api/{self.channel.public_id}/{path}"

    def _headers(self) -> dict[str, str]:
        return {"X-Widget-Token": self.token} if self.token else {}

    def start(self, identity: dict[str, Any] | None = None, lang: str = "en") -> Any:
        body: dict[str, Any] = {"token": self.token, "lang": lang}
        if identity is not None:
            body["identity"] = identity
        response = self.client.post(
            self.url("session"), body, content_type="application/json", headers=self._headers()
        )
        if response.status_code == 200:
            self.token = response.json()["token"]
        return response

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(self.url(path), params, headers=self._headers())

    def post(self, path: str, body: dict[str, Any]) -> Any:
        return self.client.post(
            self.url(path), body, content_type="application/json", headers=self._headers()
        )

    def send(self, text: str = "Hello", client_id: str | None = None, **extra: Any) -> Any:
        body = {"client_id": client_id or uuid.uuid4().hex, "text": text, **extra}
        return self.post("messages", body)

    def upload(self, content: bytes, name: str, content_type: str, text: str = "") -> Any:
        from django.core.files.uploadedfile import SimpleUploadedFile

        data = {
            "client_id": uuid.uuid4().hex,
            "text": text,
            "file": SimpleUploadedFile(name, content, content_type=content_type),
        }
        return self.client.post(self.url("messages"), data, headers=self._headers())


def signed_identity(
    channel: Channel,
    *,
    customer_id: str = "shop-42",
    email: str = "ada@example.com",
    name: str = "Ada Lovelace",
    timestamp: int | None = None,
) -> dict[str, Any]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "customer_id": customer_id,
        "email": email,
        "name": name,
        "timestamp": timestamp,
        "signature": identity_sign(
            channel=channel, customer_id=customer_id, email=email, timestamp=timestamp
        ),
    }


def aged_token(channel: Channel, payload: dict[str, Any], *, age: int) -> str:
    """A visitor token for `payload` as if it had been issued `age` seconds ago."""

    class Backdated(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - age)

    signer = Backdated(
        key=identity_module._token_key(channel), salt=identity_module._salt(channel)
    )
    return signer.sign_object({"ch": str(channel.public_id), **payload}, compress=True)


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
PDF = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF\n"
