"""The import file format: JSON Lines, one record per line, checked without the database.

Each line is an object with a `type` ("customer", "conversation" or "message") and a stable
external reference (`customer_ref`, `conversation_ref`, `message_ref`). A record refers only to
records on earlier lines or imported before. README.md ("Importing history") documents every
field. `parse_line` turns one line into a typed record or raises `RecordError` with a message
for the operator; messages never quote a message text or a contact address (both are personal
data and end up in terminals and logs).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from django.utils.text import slugify
from django.utils.translation import gettext as _

from helpdesk.conversations.models import (
    ConversationStatus,
    MessageDirection,
    MessageKind,
    SenderType,
)
from helpdesk.core.text import clean_data, clean_text
from helpdesk.customers.identities import normalize_address
from helpdesk.customers.models import IdentityKind
from helpdesk.imports.models import REF_MAX_LENGTH

# A timestamp this far ahead of the importing machine's clock is a mistake in the file.
FUTURE_TOLERANCE = timedelta(minutes=5)
IMPORTABLE_KINDS = frozenset(IdentityKind.values) - {IdentityKind.WIDGET_VISITOR}
# Enum `.values` builds a list on every access; these are read for every line.
STATUSES = frozenset(ConversationStatus.values)
SENDER_TYPES = frozenset(SenderType.values)
DIRECTIONS = frozenset({"inbound", "outbound", "note"})
PRIORITIES = {"none": 0, "low": 1, "medium": 2, "high": 3, "urgent": 4}
# Imported replies were delivered (or not) long ago: never a status the delivery jobs pick up.
IMPORTED_DELIVERY_STATUSES = frozenset({"sent", "delivered", "read", "failed", "undelivered"})
DEFAULT_SENDER = {"inbound": "customer", "outbound": "agent", "note": "agent"}
ALLOWED_SENDERS = {
    "inbound": frozenset({SenderType.CUSTOMER}),
    "outbound": frozenset({SenderType.AGENT, SenderType.BOT, SenderType.SYSTEM}),
    "note": frozenset({SenderType.AGENT, SenderType.SYSTEM}),
}
CLIENT_ID_PREFIX = "import:"
# JSON can only carry NUL or a lone surrogate escaped (\u0000, \ud800): lines without such an
# escape need no cleaning (an escaped backslash before "u" merely cleans for nothing).
_ESCAPED_UNSTORABLE = re.compile(r"\\u(?:0000|[dD][89a-fA-F])")
_CLIENT_ID_MAX = 64


class RecordError(Exception):
    """A line that cannot be imported; `message` says why, for the operator. `kind`
    ("customers", "conversations", "messages") and `ref` are set when the line said them, so
    lines that depend on it can say it was refused."""

    def __init__(self, message: str, *, kind: str = "", ref: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.ref = ref


@dataclass(frozen=True, slots=True)
class IdentityRecord:
    kind: str
    address: str  # normalized as the domain normalizes it
    verified: bool


@dataclass(frozen=True, slots=True)
class CustomerRecord:
    line: int
    ref: str
    name: str
    locale: str
    time_zone: str
    attributes: dict[str, Any]
    identities: tuple[IdentityRecord, ...]


@dataclass(frozen=True, slots=True)
class LabelName:
    name: str  # the label's slug
    title: str


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    line: int
    ref: str
    customer_ref: str
    channel: str  # id or public id; "" = the command's --channel
    status: str
    priority: int
    assignee: str
    team: str
    labels: tuple[LabelName, ...]
    subject: str
    attributes: dict[str, Any]
    created_at: datetime
    resolved_at: datetime | None
    snoozed_until: datetime | None


@dataclass(frozen=True, slots=True)
class MessageRecord:
    line: int
    ref: str
    conversation_ref: str
    direction: str  # the model's: inbound, outbound, internal
    kind: str
    sender_type: str
    sender: str
    text: str
    provider_id: str | None
    delivery_status: str
    created_at: datetime
    client_id: str  # the idempotency key within its conversation (`Message.client_id`)


Record = CustomerRecord | ConversationRecord | MessageRecord


def client_id_for(ref: str) -> str:
    key = CLIENT_ID_PREFIX + ref
    if len(key) <= _CLIENT_ID_MAX:
        return key
    # Long references are hashed (a distinct prefix, so no plain reference can collide).
    return "import#" + hashlib.sha256(ref.encode()).hexdigest()[: _CLIENT_ID_MAX - 7]


def parse_line(raw: bytes, line: int, *, now: datetime) -> Record | None:
    """The record on one line (None for a blank line). Raises RecordError."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise RecordError(_("The line is not valid UTF-8.")) from None
    if not text.strip():
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        # The decoder's message names a position, never the content.
        raise RecordError(
            _("The line is not valid JSON (%(error)s at column %(column)s).")
            % {"error": exc.msg, "column": exc.colno}
        ) from None
    if not isinstance(data, dict):
        raise RecordError(_("The line must be a JSON object."))
    if _ESCAPED_UNSTORABLE.search(text):
        data = clean_data(data)
    fields = _Fields(data, now=now)
    kind = fields.data.get("type")
    parser = _PARSERS.get(kind) if isinstance(kind, str) else None
    if parser is None:
        raise RecordError(_('"type" must be "customer", "conversation" or "message".'))
    try:
        return parser(fields, line)
    except RecordError as exc:
        ref = fields.data.get(f"{kind}_ref")
        exc.kind = f"{kind}s"
        exc.ref = str(ref).strip() if isinstance(ref, str | int) else ""
        raise


def _customer(f: _Fields, line: int) -> CustomerRecord:
    f.allow(
        "type", "customer_ref", "name", "locale", "time_zone", "attributes", "identities"
    )
    time_zone = f.text("time_zone", max_length=64)
    if time_zone and time_zone not in _time_zones():
        raise RecordError(_('"time_zone" is not a time zone this server knows.'))
    return CustomerRecord(
        line=line,
        ref=f.ref("customer_ref"),
        name=f.text("name", max_length=200, truncate=True),
        locale=f.text("locale", max_length=10),
        time_zone=time_zone,
        attributes=f.mapping("attributes"),
        identities=tuple(_identity(item) for item in f.items("identities")),
    )


def _identity(item: Any) -> IdentityRecord:
    if not isinstance(item, dict) or set(item) - {"kind", "address", "verified"}:
        raise RecordError(
            _('Each identity must be an object with "kind", "address" and optionally '
              '"verified".')
        )
    kind = item.get("kind")
    if kind not in IMPORTABLE_KINDS:
        raise RecordError(
            _('Identity "kind" must be one of: %(kinds)s.')
            % {"kinds": ", ".join(sorted(IMPORTABLE_KINDS))}
        )
    address = item.get("address")
    if not isinstance(address, str):
        raise RecordError(_("An identity of kind %(kind)s has no address.") % {"kind": kind})
    normalized = normalize_address(kind, address)
    if not normalized or len(normalized) > 320:
        raise RecordError(
            _("An identity of kind %(kind)s has an unusable address.") % {"kind": kind}
        )
    if kind == IdentityKind.EMAIL and "@" not in normalized:
        raise RecordError(_("An email identity has an address without “@”."))
    verified = item.get("verified", False)
    if not isinstance(verified, bool):
        raise RecordError(_('Identity "verified" must be true or false.'))
    return IdentityRecord(kind=kind, address=normalized, verified=verified)


def _conversation(f: _Fields, line: int) -> ConversationRecord:
    f.allow(
        "type", "conversation_ref", "customer_ref", "channel", "status", "priority", "assignee",
        "team", "labels", "subject", "attributes", "created_at", "resolved_at", "snoozed_until",
    )
    status = f.choice("status", STATUSES, default=ConversationStatus.RESOLVED)
    resolved_at = f.time("resolved_at", required=False)
    snoozed_until = f.time("snoozed_until", required=False, future_ok=True)
    if resolved_at is not None and status != ConversationStatus.RESOLVED:
        raise RecordError(_('"resolved_at" is only for resolved conversations.'))
    if status == ConversationStatus.SNOOZED and snoozed_until is None:
        raise RecordError(_('A snoozed conversation needs "snoozed_until".'))
    if snoozed_until is not None and status != ConversationStatus.SNOOZED:
        raise RecordError(_('"snoozed_until" is only for snoozed conversations.'))
    return ConversationRecord(
        line=line,
        ref=f.ref("conversation_ref"),
        customer_ref=f.ref("customer_ref"),
        channel=f.identifier("channel"),
        status=status,
        priority=f.priority(),
        assignee=f.text("assignee", max_length=254),
        team=f.text("team", max_length=100),
        labels=tuple(_label(item) for item in f.items("labels")),
        subject=f.text("subject", max_length=255, truncate=True),
        attributes=f.mapping("attributes"),
        created_at=f.time("created_at"),
        resolved_at=resolved_at,
        snoozed_until=snoozed_until,
    )


def _label(item: Any) -> LabelName:
    if not isinstance(item, str) or not slugify(item, allow_unicode=True):
        raise RecordError(_("Each label must be a name with at least one letter or digit."))
    return LabelName(name=slugify(item, allow_unicode=True)[:50], title=item.strip()[:80])


def _message(f: _Fields, line: int) -> MessageRecord:
    f.allow(
        "type", "message_ref", "conversation_ref", "direction", "sender_type", "sender", "text",
        "provider_id", "delivery_status", "created_at",
    )
    direction = f.choice("direction", DIRECTIONS)
    sender_type = f.choice("sender_type", SENDER_TYPES, default=DEFAULT_SENDER[direction])
    if sender_type not in ALLOWED_SENDERS[direction]:
        raise RecordError(
            _('A message with direction "%(direction)s" cannot have sender_type "%(sender)s".')
            % {"direction": direction, "sender": sender_type}
        )
    sender = f.text("sender", max_length=254)
    if sender and direction == "inbound":
        raise RecordError(_('"sender" names the agent of a reply or note; a customer message '
                            "has none."))
    default_status = "sent" if direction == "outbound" else ""
    delivery_status = f.text("delivery_status", max_length=12) or default_status
    if direction == "outbound" and delivery_status not in IMPORTED_DELIVERY_STATUSES:
        raise RecordError(
            _('"delivery_status" of an imported reply must be one of: %(statuses)s.')
            % {"statuses": ", ".join(sorted(IMPORTED_DELIVERY_STATUSES))}
        )
    if direction != "outbound" and delivery_status:
        raise RecordError(_('Only replies ("outbound") have a "delivery_status".'))
    text = f.data.get("text")
    if not isinstance(text, str):
        raise RecordError(_('"text" is required and must be a string.'))
    ref = f.ref("message_ref")
    return MessageRecord(
        line=line,
        ref=ref,
        conversation_ref=f.ref("conversation_ref"),
        direction=MessageDirection.INTERNAL if direction == "note" else direction,
        kind=MessageKind.NOTE if direction == "note" else MessageKind.MESSAGE,
        sender_type=sender_type,
        sender=sender,
        text=text,
        provider_id=f.text("provider_id", max_length=120) or None,
        delivery_status=delivery_status,
        created_at=f.time("created_at"),
        client_id=client_id_for(ref),
    )


_PARSERS = {"customer": _customer, "conversation": _conversation, "message": _message}


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


class _Fields:
    """Typed reads of one record's fields, raising RecordError with the field's name."""

    def __init__(self, data: dict[str, Any], *, now: datetime) -> None:
        self.data = data
        self.latest = now + FUTURE_TOLERANCE

    def allow(self, *names: str) -> None:
        unknown = sorted(set(self.data) - set(names))
        if unknown:
            raise RecordError(
                _("Unknown field %(field)s for a %(type)s record.")
                % {"field": json.dumps(unknown[0])[:60], "type": self.data["type"]}
            )

    def text(self, key: str, *, max_length: int, truncate: bool = False) -> str:
        value = self.data.get(key, "")
        if value is None:
            return ""
        if not isinstance(value, str):
            raise RecordError(_('"%(field)s" must be a string.') % {"field": key})
        value = clean_text(value).strip()
        if len(value) > max_length:
            if not truncate:
                raise RecordError(
                    _('"%(field)s" is longer than %(max)s characters.')
                    % {"field": key, "max": max_length}
                )
            value = value[:max_length]
        return value

    def ref(self, key: str) -> str:
        value = self.data.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            raise RecordError(_('"%(field)s" is required.') % {"field": key})
        value = value.strip()
        if len(value) > REF_MAX_LENGTH:
            raise RecordError(
                _('"%(field)s" is longer than %(max)s characters.')
                % {"field": key, "max": REF_MAX_LENGTH}
            )
        return value

    def identifier(self, key: str) -> str:
        value = self.data.get(key, "")
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise RecordError(_('"%(field)s" must be an id or a public id.') % {"field": key})
        return value.strip()[:64]

    def choice(self, key: str, choices: Any, *, default: str | None = None) -> str:
        value = self.data.get(key, default)
        if value is None or value not in choices:
            raise RecordError(
                _('"%(field)s" must be one of: %(choices)s.')
                % {"field": key, "choices": ", ".join(sorted(choices))}
            )
        return str(value)

    def priority(self) -> int:
        value = self.data.get("priority", 0)
        if isinstance(value, str) and value.lower() in PRIORITIES:
            return PRIORITIES[value.lower()]
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 4:
            return value
        raise RecordError(
            _('"priority" must be one of: none, low, medium, high, urgent (or 0 to 4).')
        )

    def mapping(self, key: str) -> dict[str, Any]:
        value = self.data.get(key, {})
        if not isinstance(value, dict):
            raise RecordError(_('"%(field)s" must be an object.') % {"field": key})
        return value

    def items(self, key: str) -> list[Any]:
        value = self.data.get(key, [])
        if not isinstance(value, list):
            raise RecordError(_('"%(field)s" must be a list.') % {"field": key})
        return value

    def time(self, key: str, *, required: bool = True, future_ok: bool = False) -> Any:
        value = self.data.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str):
            raise RecordError(
                _('"%(field)s" is required: a time such as 2024-05-01T09:30:00Z.')
                % {"field": key}
            )
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise RecordError(
                _('"%(field)s" is not an ISO 8601 time such as 2024-05-01T09:30:00Z.')
                % {"field": key}
            ) from None
        if parsed.tzinfo is None:
            raise RecordError(
                _('"%(field)s" needs a time zone offset (such as Z or +02:00).') % {"field": key}
            )
        parsed = parsed.astimezone(UTC)
        if not future_ok and parsed > self.latest:
            raise RecordError(_('"%(field)s" is in the future.') % {"field": key})
        return parsed
