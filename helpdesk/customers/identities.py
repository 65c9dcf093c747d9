"""Normalizing contact addresses so the same person always maps to the same identity row."""

from __future__ import annotations

import re

from helpdesk.customers.models import IdentityKind

_NON_DIGITS = re.compile(r"[^\d]")

# Phone numbers and WhatsApp ids are the same number: a customer who texts and then
# WhatsApps from one number is one customer.
SIBLING_KINDS: dict[str, str] = {
    IdentityKind.PHONE: IdentityKind.WHATSAPP,
    IdentityKind.WHATSAPP: IdentityKind.PHONE,
}


def normalize_address(kind: str, address: str) -> str:
    value = (address or "").strip()
    if kind == IdentityKind.EMAIL:
        return value.lower()
    if kind in (IdentityKind.PHONE, IdentityKind.WHATSAPP):
        if value.lower().startswith("whatsapp:"):
            value = value[len("whatsapp:") :]
        digits = _NON_DIGITS.sub("", value)
        if value.startswith("00"):
            digits = digits[2:]
        return f"+{digits}" if digits else ""
    return value
