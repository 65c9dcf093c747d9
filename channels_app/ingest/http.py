"""A minimal request/response pair for accept handlers, so one handler serves both the raw ASGI
route (production) and a Django view (tests, any WSGI deployment)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from django.http import QueryDict


@dataclass(frozen=True)
class AcceptRequest:
    method: str
    path: str
    query_string: str  # as received, without "?"
    headers: dict[str, str]  # names in lower case
    body: bytes
    # True on the raw ASGI route: store through the async pool (PostgreSQL) with no thread hop.
    native: bool = False
    # Fields Django already parsed (its view path); else the body is read as a urlencoded form.
    parsed_form: QueryDict | None = None

    def form(self) -> QueryDict:
        if self.parsed_form is not None:
            return self.parsed_form
        return QueryDict(self.body, encoding="utf-8")

    def query(self) -> QueryDict:
        return QueryDict(self.query_string, encoding="utf-8")

    def full_path(self) -> str:
        return f"{self.path}?{self.query_string}" if self.query_string else self.path


@dataclass(frozen=True)
class AcceptResponse:
    status: int
    body: str = ""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[..., Awaitable[AcceptResponse]]


def text(status: int, body: str) -> AcceptResponse:
    return AcceptResponse(status, body)


def overloaded() -> AcceptResponse:
    """503 with Retry-After: the provider (or its queue) tries again in a moment."""
    return AcceptResponse(
        503, "Busy, please retry shortly.", headers={"Retry-After": "1"}
    )
