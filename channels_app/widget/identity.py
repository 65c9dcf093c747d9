"""Who is talking to the widget.

An anonymous visitor gets a signed, persistent visitor token (kept in the browser). A shop may
vouch for a logged-in customer with an HMAC-SHA256 signature, made with the channel's signing
secret, over the customer id, email and timestamp in a length-prefixed form (`identity_message`);
only a valid signature links the widget to an existing customer's history. Tokens are signed per
channel (key and salt both include it), so a token of one channel is worthless on another.

The first signed form, "customer_id|email|timestamp", cannot say where a field ends: `|` is legal
in an email address, so a signature over ("2002", "foo|victim@example.com") also fits
("2002|foo", "victim@example.com"). Shops that still sign it keep working only while neither
field contains `|`, where there is just one way to read the bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core import signing
from django.utils.translation import gettext as _

from helpdesk.core.errors import PermissionDenied
from helpdesk.customers.models import Customer, IdentityKind
from helpdesk.customers.services import customer_find_by_identity
from helpdesk.inboxes.models import Channel

TOKEN_MAX_AGE = 60 * 60 * 24 * 400  # a visitor who comes back within a year keeps the history
# A token that speaks for a verified customer lives `settings.WIDGET_VERIFIED_TOKEN_MAX_AGE`
# (a week by default): it opens that customer's whole history, so a copied or leftover token
# must not outlive the shop's login for long. Each session start re-issues it while the shop
# still vouches for the customer.
SIGNATURE_MAX_AGE = 60 * 60 * 24  # a shop signs the identity when it renders the page
SIGNATURE_MAX_SKEW = 5 * 60  # clocks differ a little
_TOKEN_SALT = "relay.widget.visitor"  # noqa: S105 (a namespace, not a secret)
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # never part of a customer id or an address
IDENTITY_FORM = b"relay-identity-v2"


@dataclass(frozen=True)
class VisitorSession:
    """What a verified visitor token says: a visitor id, and for shop-verified sessions the
    customer the shop vouched for."""

    channel_public_id: str
    visitor_id: str
    customer_id: int | None = None
    verified: bool = False

    @property
    def identity_kind(self) -> str:
        return IdentityKind.SHOP_CUSTOMER if self.verified else IdentityKind.WIDGET_VISITOR

    @property
    def scope(self) -> str:
        """Prefix for client message ids: retries are idempotent per visitor, never across."""
        return f"c{self.customer_id}" if self.verified else self.visitor_id


def _token_key(channel: Channel) -> str:
    return f"{settings.SECRET_KEY}:{channel.signing_secret}"


def _salt(channel: Channel) -> str:
    return f"{_TOKEN_SALT}:{channel.public_id}"


def visitor_token_issue(*, channel: Channel, session: VisitorSession) -> str:
    payload = {"ch": str(channel.public_id), "v": session.visitor_id}
    if session.verified:
        payload["c"] = session.customer_id
    return signing.dumps(payload, key=_token_key(channel), salt=_salt(channel), compress=True)


def verified_token_max_age() -> int:
    return int(settings.WIDGET_VERIFIED_TOKEN_MAX_AGE)


def visitor_token_check(*, channel: Channel, token: str) -> VisitorSession:
    """Verify a visitor token for `channel`; raises PermissionDenied (forged, expired, other
    channel). Anonymous tokens live TOKEN_MAX_AGE, verified ones verified_token_max_age(),
    both counted from the signed issue time."""
    signer = signing.TimestampSigner(key=_token_key(channel), salt=_salt(channel))
    try:
        payload = signer.unsign_object(token or "", max_age=TOKEN_MAX_AGE)
        if isinstance(payload, dict) and payload.get("c") is not None:
            signer.unsign(token, max_age=verified_token_max_age())
    except signing.SignatureExpired as exc:
        raise PermissionDenied(_("This widget session has expired."), code="token_expired") from exc
    except signing.BadSignature as exc:
        raise PermissionDenied(_("This widget session is not valid."), code="bad_token") from exc
    if not isinstance(payload, dict) or payload.get("ch") != str(channel.public_id):
        raise PermissionDenied(_("This widget session is not valid."), code="bad_token")
    customer_id = payload.get("c")
    return VisitorSession(
        channel_public_id=payload["ch"],
        visitor_id=str(payload.get("v", "")),
        customer_id=int(customer_id) if customer_id is not None else None,
        verified=customer_id is not None,
    )


def new_visitor(channel: Channel) -> VisitorSession:
    return VisitorSession(channel_public_id=str(channel.public_id), visitor_id=uuid.uuid4().hex)


# --- Shop-verified identity -----------------------------------------------------------------


@dataclass(frozen=True)
class ShopIdentity:
    customer_id: str
    email: str
    name: str
    timestamp: int
    signature: str


def identity_message(customer_id: str, email: str, timestamp: int) -> bytes:
    """The exact bytes a shop signs (documented in the admin setup panel and the README):
    "relay-identity-v2\n<n>:<customer_id>\n<m>:<email>\n<timestamp>", where n and m are the
    fields' lengths in UTF-8 bytes. The lengths say where each field ends, whatever it holds."""
    return b"\n".join(
        (IDENTITY_FORM, _length_prefixed(customer_id), _length_prefixed(email), b"%d" % timestamp)
    )


def _length_prefixed(value: str) -> bytes:
    data = value.encode()
    return b"%d:%s" % (len(data), data)


def legacy_identity_message(customer_id: str, email: str, timestamp: int) -> bytes:
    """The first signed form. Unambiguous only when neither field contains `|`."""
    return f"{customer_id}|{email}|{timestamp}".encode()


def identity_sign(*, channel: Channel, customer_id: str, email: str, timestamp: int) -> str:
    """What the shop's backend computes (tests use it too)."""
    return _hmac_hex(channel, identity_message(customer_id, email, timestamp))


def _hmac_hex(channel: Channel, message: bytes) -> str:
    return hmac.new(channel.signing_secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class VerifiedShopIdentity:
    """A shop identity whose signature `check_shop_identity` accepted: the only thing that may
    link a widget session to a customer or take over an address."""

    customer_id: str
    email: str
    name: str


def check_shop_identity(
    *, channel: Channel, identity: ShopIdentity, now: float | None = None
) -> VerifiedShopIdentity:
    """Raise PermissionDenied unless the shop's signature is valid, fresh and for `channel`;
    return the identity as verified. Accepts the length-prefixed form, and the legacy form only
    when no field contains `|`; refuses control characters in either. Comparisons run in
    constant time."""
    now = time.time() if now is None else now
    if not (identity.customer_id or identity.email):
        raise PermissionDenied(_("A signed identity needs a customer id or an email."))
    if not _HEX.match(identity.signature or "") or not _signature_matches(channel, identity):
        raise PermissionDenied(_("The identity signature is not valid."), code="bad_signature")
    if identity.timestamp > now + SIGNATURE_MAX_SKEW:
        raise PermissionDenied(_("The identity signature is from the future."), code="bad_time")
    if now - identity.timestamp > SIGNATURE_MAX_AGE:
        raise PermissionDenied(_("The identity signature has expired."), code="signature_expired")
    return VerifiedShopIdentity(
        customer_id=identity.customer_id, email=identity.email, name=identity.name
    )


def _signature_matches(channel: Channel, identity: ShopIdentity) -> bool:
    fields = (identity.customer_id, identity.email)
    if any(_CONTROL.search(field) for field in fields):
        return False
    signature = identity.signature.lower()
    expected = identity_sign(
        channel=channel,
        customer_id=identity.customer_id,
        email=identity.email,
        timestamp=identity.timestamp,
    )
    if hmac.compare_digest(expected, signature):
        return True
    if any("|" in field for field in fields):
        return False  # the legacy bytes would fit more than one (customer id, email) pair
    legacy = legacy_identity_message(identity.customer_id, identity.email, identity.timestamp)
    return hmac.compare_digest(_hmac_hex(channel, legacy), signature)


def session_customer(session: VisitorSession) -> Customer | None:
    """The customer behind a session (None for a visitor who has not written yet)."""
    if session.verified:
        customer = Customer.objects.filter(pk=session.customer_id).first()
    else:
        customer = customer_find_by_identity(
            kind=IdentityKind.WIDGET_VISITOR, address=session.visitor_id
        )
    while customer is not None and customer.merged_into_id is not None:
        customer = Customer.objects.filter(pk=customer.merged_into_id).first()
    return customer
