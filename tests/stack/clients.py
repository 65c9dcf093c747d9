"""Clients of the running stack: an agent's console session over HTTP (as the browser's
JavaScript talks to it) and its websocket."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

import requests
from websockets.sync.client import ClientConnection, connect


class Console:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = requests.Session()

    def _insecure_cookies(self) -> None:
        # Production cookies are Secure (HTTPS behind a proxy); the stack serves plain HTTP on
        # loopback, so send them anyway.
        for cookie in self.http.cookies:
            cookie.secure = False

    def sign_in(self, username: str, password: str) -> requests.Response:
        page = self.http.get(f"{self.base_url}/login/", timeout=10)
        self._insecure_cookies()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        assert token, page.text[:500]
        response = self.http.post(
            f"{self.base_url}/login/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "username": username,
                "password": password,
            },
            headers={"Origin": self.base_url, "Referer": f"{self.base_url}/login/"},
            allow_redirects=False,
            timeout=10,
        )
        self._insecure_cookies()
        return response

    def post(self, path: str, data: dict[str, str]) -> requests.Response:
        response = self.http.post(
            f"{self.base_url}{path}",
            data=data,
            headers={
                "Origin": self.base_url,
                "X-CSRFToken": self.http.cookies.get("csrftoken", ""),
                "X-Relay-Fetch": "1",
            },
            timeout=15,
        )
        self._insecure_cookies()
        return response

    def reply(self, conversation_id: int, text: str) -> int:
        response = self.post(f"/c/{conversation_id}/reply/", {"text": text, "mode": "reply"})
        assert response.status_code == 200, response.text[:300]
        return int(response.json()["message_id"])

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.http.cookies)

    def socket(self, base_url: str | None = None) -> ConsoleSocket:
        """The console's websocket, on `base_url` (another process, e.g. `ws`) or this one."""
        ws = connect(
            (base_url or self.base_url).replace("http", "ws", 1) + "/ws/console/",
            additional_headers={"Cookie": self.cookie_header(), "Origin": self.base_url},
            open_timeout=10,
        )
        return ConsoleSocket(ws)


class ConsoleSocket:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        hello = self.receive(5)
        assert hello["type"] == "hello", hello
        self.last_id = int(hello["last_id"])
        self.seen: list[dict[str, Any]] = []

    def receive(self, timeout: float) -> dict[str, Any]:
        return json.loads(self.ws.recv(timeout=timeout))

    def send(self, message: dict[str, Any]) -> None:
        self.ws.send(json.dumps(message))

    def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("the event did not arrive in time")
            event = self.receive(remaining)
            self.seen.append(event)
            if isinstance(event.get("id"), int):
                self.last_id = max(self.last_id, event["id"])
            if predicate(event):
                return event

    def close(self) -> None:
        self.ws.close()
