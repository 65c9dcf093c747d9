"""Widget writes: sessions, shopper messages, the continuity email and read receipts.

Every domain change goes through the domain's services; this module only decides which
customer a widget session speaks for.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import replace

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from channels_app.widget.identity import (
    ShopIdentity,
    VerifiedShopIdentity,
    VisitorSession,
    check_shop_identity,
    new_visitor,
    session_customer,
    visitor_token_check,
)
from helpdesk.conversations.models import (
    Conversation,
    DeliveryStatus,
    Message,
    MessageDirection,
    MessageKind,
)
from helpdesk.conversations.services import (
    InboundAttachment,
    InboundMessage,
    InboundResult,
    message_receive_inbound,
    message_update_delivery_status,
)
from helpdesk.core.errors import DomainError, PermissionDenied
from helpdesk.core.text import clean_text
from helpdesk.customers.models import ContactIdentity, Customer, IdentityKind
from helpdesk.customers.services import (
    customer_get_or_create_by_identity,
    customer_update,
    identity_attach,
)
from helpdesk.inboxes.models import Channel

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
WIDGET_EMAIL_ATTRIBUTE = "widget_email"


def widget_session_start(
    *, channel: Channel, token: str = "", identity: ShopIdentity | None = None
) -> tuple[VisitorSession, Customer | None]:
    """Resume a visitor token (or start a new visitor) and, when the shop vouches for a customer
    with a valid signature, switch the session to that customer.

    Raises PermissionDenied for a forged/expired token or signature. An unverified claim never
    reaches an existing customer: without a valid signature the session stays the visitor's own.
    A verified token is only resumed while the page still vouches for a customer: once the shop
    stops sending an identity (logged out, someone else at the same computer) the session starts
    over as a fresh anonymous visitor.

    With a signed identity the token is only a convenience: an expired (a verified token lives
    a week) or broken one is dropped and the session starts over for the vouched-for customer,
    so the token is re-issued instead of the shopper falling back to an anonymous session.
    """
    verified = None
    if identity is not None:
        verified = check_shop_identity(channel=channel, identity=identity)
    try:
        session = (
            visitor_token_check(channel=channel, token=token) if token else new_visitor(channel)
        )
    except PermissionDenied:
        if identity is None:
            raise
        session = new_visitor(channel)
    if verified is None:
        if session.verified:
            session = new_visitor(channel)
        return session, session_customer(session)
    customer = _verified_customer(verified)
    session = VisitorSession(
        channel_public_id=session.channel_public_id,
        visitor_id=session.visitor_id,
        customer_id=customer.pk,
        verified=True,
    )
    return session, customer


@transaction.atomic
def _verified_customer(identity: VerifiedShopIdentity) -> Customer:
    """The customer a signed identity names. It resolves only through verified identities: an
    address someone merely typed into a widget is taken over by the verified customer, and the
    typist keeps their own conversations (they never see the verified customer's).

    Only a `VerifiedShopIdentity` gets here: an address is taken over because the shop's
    signature covers it as the email field, never because a request merely names it."""
    email = identity.email.strip()
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise DomainError(_("Enter a valid email address."), code="bad_email") from exc
    if identity.customer_id:
        customer, _created = customer_get_or_create_by_identity(
            kind=IdentityKind.SHOP_CUSTOMER,
            address=identity.customer_id,
            name=clean_text(identity.name),
            verified=True,
            verified_only=True,
        )
        if email:
            # Proven for another customer too: leave it there, agents decide whether to merge.
            with contextlib.suppress(DomainError):
                identity_attach(
                    customer=customer,
                    kind=IdentityKind.EMAIL,
                    address=email,
                    verified=True,
                    take_over_unverified=True,
                )
        return customer
    customer, _created = customer_get_or_create_by_identity(
        kind=IdentityKind.EMAIL,
        address=email,
        name=clean_text(identity.name),
        verified=True,
        verified_only=True,
    )
    return customer


def check_client_id(client_id: str) -> None:
    if not CLIENT_ID.match(client_id or ""):
        raise DomainError(
            _("A message needs a client id of 8 to 64 letters, digits, '-' or '_'."),
            code="bad_client_id",
        )


def widget_message_send(
    *,
    channel: Channel,
    session: VisitorSession,
    text: str,
    client_id: str,
    conversation_id: int | None = None,
    new_conversation: bool = False,
    locale: str = "",
    attachments: tuple[InboundAttachment, ...] = (),
) -> InboundResult:
    """A shopper's message. Idempotent per (visitor, client id): a retry returns the stored
    message with `created=False`. `conversation_id` continues one of the shopper's conversations
    (another customer's id is refused); `new_conversation` starts a new one even while another
    is open; with neither, the domain continues the latest open conversation. Text and file
    names are stored without the characters no database holds (`clean_text`)."""
    check_client_id(client_id)
    text = clean_text(text)
    attachments = tuple(replace(a, filename=clean_text(a.filename)) for a in attachments)
    if not text.strip() and not attachments:
        raise DomainError(_("Write a message or attach a file."), code="empty")
    if conversation_id is not None and new_conversation:
        raise DomainError(
            _("Continue a conversation or start a new one, not both."), code="invalid"
        )
    customer = session_customer(session)
    if session.verified and customer is None:
        # The customer the token vouched for is gone (deleted, erased): never fall back to a
        # lookup by the old id, which could now name another shop customer.
        raise PermissionDenied(_("This widget session has expired."), code="token_expired")
    if conversation_id is not None:
        owned = customer is not None and Conversation.objects.filter(
            pk=conversation_id, customer=customer, channel=channel
        ).exists()
        if not owned:
            raise PermissionDenied(_("This conversation is not yours."), code="not_yours")
    inbound = InboundMessage(
        identity_kind=session.identity_kind,
        identity_address=str(session.customer_id) if session.verified else session.visitor_id,
        text=text,
        external_id=f"widget:{session.scope}:{client_id}",
        locale=locale,
        verified=session.verified,
        attachments=attachments,
        customer_id=customer.pk if customer is not None else None,
        conversation_id=conversation_id,
        content_attributes={"widget_client_id": client_id},
    )
    return message_receive_inbound(
        channel=channel, inbound=inbound, new_conversation=new_conversation
    )


def widget_email_store(*, customer: Customer, email: str) -> str:
    """Remember where to send the reply. The address becomes an (unverified) email identity of
    this customer; when it already belongs to someone else it is only noted on this customer
    (`custom_attributes["widget_email"]`), never linked to the other customer's history.
    Returns "identity" or "attribute"."""
    email = (email or "").strip().lower()
    try:
        validate_email(email)
    except ValidationError as exc:
        raise DomainError(_("Enter a valid email address."), code="bad_email") from exc
    owner = (
        ContactIdentity.objects.filter(kind=IdentityKind.EMAIL, address=email)
        .values_list("customer_id", flat=True)
        .first()
    )
    if owner is None or owner == customer.pk:
        identity_attach(customer=customer, kind=IdentityKind.EMAIL, address=email)
        return "identity"
    attributes = {**customer.custom_attributes, WIDGET_EMAIL_ATTRIBUTE: email}
    customer_update(customer=customer, custom_attributes=attributes)
    return "attribute"


def widget_mark_read(
    *, channel: Channel, customer: Customer, conversation_id: int, up_to: int
) -> list[int]:
    """The shopper saw the thread up to message `up_to`: agent replies there become `read`.
    Only this widget channel's conversations (never the same customer's SMS or WhatsApp).
    Forward-only (the delivery service ignores moves backwards); returns the changed ids."""
    ids = list(
        Message.objects.filter(
            conversation_id=conversation_id,
            conversation__customer=customer,
            conversation__channel=channel,
            direction=MessageDirection.OUTBOUND,
            kind=MessageKind.MESSAGE,
            pk__lte=up_to,
        )
        .exclude(delivery_status__in=[DeliveryStatus.READ, DeliveryStatus.FAILED,
                                      DeliveryStatus.UNDELIVERED])
        .order_by("pk")
        .values_list("pk", flat=True)[:200]
    )
    changed = []
    for message_id in ids:
        _message, moved = message_update_delivery_status(message_id=message_id, status="read")
        if moved:
            changed.append(message_id)
    return changed
