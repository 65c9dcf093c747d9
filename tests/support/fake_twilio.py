"""A local fake of Twilio's REST API for tests: a real HTTP server on 127.0.0.1 (ephemeral
port) that records every request and answers what the test scripts.

    server = FakeTwilio().start()
    server.script(Reply.rate_limited(), Reply.created())   # next two Messages.json answers
    server.add_media("/media/cat.jpg", b"...", "image/jpeg", not_found_first=1)
    ...
    server.stop()

Unscripted message creates answer 201 with a Message resource shaped like
`api.v2010.account.message` in twilio_api_v2010.json (`server.answer_unscripted(Reply(...))`
changes that answer, e.g. to make every create slow). Every create that Twilio would accept
(2xx, also when the answer is delayed past the client's timeout) records its SID on the
request (`server.creates()[0].sid`), so a test can send the status callbacks Twilio would, and
keeps the Message resource it made (`server.created()`).

The Messages list (`GET .../Messages.json`, `server.lists()` records the calls) answers from
those resources like Twilio's `ListMessageResponse`: filtered by `To` and `From`, newest first,
paged by `PageSize` (default 50, at most 1000) with `next_page_uri`. `DateSent` filters are
not modelled and answer 400, so code that starts using them fails loudly here.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class Reply:
    status: int = 201
    body: dict[str, Any] | None = None  # None: a Message resource built from the request
    delay: float = 0.0  # seconds before answering (longer than the client timeout = timeout)
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def created(cls, status: str = "queued") -> Reply:
        return cls(201, {"status": status})

    @classmethod
    def error(cls, http_status: int, code: int, message: str) -> Reply:
        return cls(
            http_status,
            {
                "code": code,
                "message": message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": http_status,
            },
        )

    @classmethod
    def rate_limited(cls) -> Reply:
        return cls.error(429, 20429, "Too Many Requests")

    @classmethod
    def server_error(cls) -> Reply:
        return cls.error(500, 20500, "Internal Server Error")

    @classmethod
    def timeout(cls, seconds: float = 1.0) -> Reply:
        return cls(201, None, delay=seconds)


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, list[str]]
    form: dict[str, list[str]]
    headers: dict[str, str]
    auth: tuple[str, str] | None
    sid: str = ""  # the Message SID a create made (set before a delayed answer)

    def value(self, name: str) -> str | None:
        values = self.form.get(name)
        return values[0] if values else None


@dataclass
class Media:
    content: bytes
    content_type: str
    not_found_first: int = 0
    redirect_to: str = ""
    status: int = 200
    served: int = 0


class FakeTwilio:
    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._script: list[Reply] = []
        self._unscripted = Reply.created()
        self._messages: list[dict[str, Any]] = []  # what creates made, oldest first
        self._media: dict[str, Media] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # --- control ------------------------------------------------------------------------
    def start(self) -> FakeTwilio:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, *replies: Reply) -> None:
        """Answer the next message creates with these replies, in order."""
        with self._lock:
            self._script.extend(replies)

    def forget(self) -> None:
        """Forget every request and every message made so far (Twilio never saw them)."""
        with self._lock:
            self.requests.clear()
            self._messages.clear()

    def answer_unscripted(self, reply: Reply) -> None:
        """Answer every create the script does not cover with `reply` (e.g. a slow 201)."""
        with self._lock:
            self._unscripted = reply

    def add_media(
        self,
        path: str,
        content: bytes,
        content_type: str,
        *,
        not_found_first: int = 0,
        redirect_to: str = "",
        status: int = 200,
    ) -> str:
        self._media[path] = Media(content, content_type, not_found_first, redirect_to, status)
        return self.base_url + path

    def creates(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST" and r.path.endswith("Messages.json")]

    def lists(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "GET" and r.path.endswith("Messages.json")]

    def created(self) -> list[dict[str, Any]]:
        """The Message resources creates made (oldest first); a test may change their status."""
        with self._lock:
            return list(self._messages)

    # --- serving ------------------------------------------------------------------------
    def _record(self, handler: BaseHTTPRequestHandler, method: str) -> Recorded:
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode() if length else ""
        auth = None
        header = handler.headers.get("Authorization", "")
        if header.startswith("Basic "):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            auth = (user, password)
        recorded = Recorded(
            method=method,
            path=parts.path,
            query=parse_qs(parts.query),
            form=parse_qs(raw, keep_blank_values=True),
            headers=dict(handler.headers.items()),
            auth=auth,
        )
        with self._lock:
            self.requests.append(recorded)
        return recorded

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        recorded = self._record(handler, method)
        try:
            if method == "GET" and recorded.path in self._media:
                self._serve_media(handler, recorded)
            elif method == "POST" and recorded.path.endswith("/Messages.json"):
                self._create_message(handler, recorded)
            elif method == "GET" and recorded.path.endswith("/Messages.json"):
                self._list_messages(handler, recorded)
            else:
                self._send(handler, 404, {"code": 20404, "message": "Not Found", "status": 404})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a scripted timeout)

    def _create_message(self, handler: BaseHTTPRequestHandler, recorded: Recorded) -> None:
        with self._lock:
            reply = self._script.pop(0) if self._script else self._unscripted
        body = dict(reply.body or {})
        if 200 <= reply.status < 300:
            body = {**self._message_resource(recorded), **body}
            recorded.sid = body["sid"]  # Twilio has the message now, whether we hear back or not
            with self._lock:
                self._messages.append(body)
        if reply.delay:
            time.sleep(reply.delay)
        self._send(handler, reply.status, body, reply.headers)

    def _list_messages(self, handler: BaseHTTPRequestHandler, recorded: Recorded) -> None:
        query = {name: values[0] for name, values in recorded.query.items()}
        if any(name.startswith("DateSent") for name in query):
            self._send(
                handler, 400, {"code": 20001, "message": "fake: DateSent is not modelled"}
            )
            return
        try:
            size = int(query.get("PageSize", "50"))
            number = int(query.get("Page", "0"))
        except ValueError:
            self._send(handler, 400, {"code": 20001, "message": "Invalid paging", "status": 400})
            return
        if not 1 <= size <= 1000 or number < 0:
            self._send(handler, 400, {"code": 20001, "message": "Invalid paging", "status": 400})
            return
        account = recorded.path.split("/")[3]
        with self._lock:
            newest_first = list(reversed(self._messages))  # creates are made in time order
        matching = [
            m
            for m in newest_first
            if m["account_sid"] == account
            and query.get("To", m["to"]) == m["to"]
            and query.get("From", m["from"]) == m["from"]
        ]
        start = number * size
        chunk = matching[start : start + size]
        filters = {k: v for k, v in query.items() if k in ("To", "From")}

        def page_uri(n: int) -> str:
            return f"{recorded.path}?{urlencode({**filters, 'PageSize': size, 'Page': n})}"

        more = start + size < len(matching)
        self._send(
            handler,
            200,
            {
                "messages": chunk,
                "page": number,
                "page_size": size,
                "start": start,
                "end": start + max(len(chunk) - 1, 0),
                "uri": page_uri(number),
                "first_page_uri": page_uri(0),
                "next_page_uri": page_uri(number + 1) + f"&PageToken=PA{number + 1}"
                if more
                else None,
                "previous_page_uri": page_uri(number - 1) if number > 0 else None,
            },
        )

    def _message_resource(self, recorded: Recorded) -> dict[str, Any]:
        account = recorded.path.split("/")[3]
        sid = "SM" + uuid.uuid4().hex
        now = format_datetime(datetime.now(UTC).replace(microsecond=0))
        return {
            "account_sid": account,
            "api_version": "2010-04-01",
            "body": recorded.value("Body") or "",
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": recorded.value("From"),
            "messaging_service_sid": recorded.value("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {},
            "to": recorded.value("To"),
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
        }

    def _serve_media(self, handler: BaseHTTPRequestHandler, recorded: Recorded) -> None:
        media = self._media[recorded.path]
        with self._lock:
            media.served += 1
            served = media.served
        if served <= media.not_found_first:
            self._send(handler, 404, {"code": 20404, "message": "Not Found", "status": 404})
            return
        if media.redirect_to:
            handler.send_response(302)
            handler.send_header("Location", media.redirect_to)
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(media.status)
        if media.content_type:
            handler.send_header("Content-Type", media.content_type)
        handler.send_header("Content-Length", str(len(media.content)))
        handler.end_headers()
        handler.wfile.write(media.content)

    def _send(
        self,
        handler: BaseHTTPRequestHandler,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> None:
        data = json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
