"""Setting up a Twilio channel: credential checks, creation, and the admin's setup panel."""

from __future__ import annotations

import re

from django.db import transaction
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from channels_app.twilio import config
from helpdesk.core.errors import DomainError
from helpdesk.inboxes.models import Channel, ChannelKind

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
SERVICE_SID = re.compile(r"^MG[0-9a-fA-F]{32}$")
E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def check_twilio_credentials(
    *, account_sid: str, auth_token: str, sender: str, messaging_service_sid: str
) -> dict[str, str]:
    """Field -> reason for every problem ({} when the credentials look right)."""
    problems: dict[str, str] = {}
    if not ACCOUNT_SID.match(account_sid or ""):
        problems["account_sid"] = _("An account SID is AC followed by 32 hex characters.")
    if not auth_token:
        problems["auth_token"] = _("The auth token is required.")
    if messaging_service_sid and not SERVICE_SID.match(messaging_service_sid):
        problems["messaging_service_sid"] = _(
            "A Messaging Service SID is MG followed by 32 hex characters."
        )
    if sender and not E164.match(sender.removeprefix(config.WHATSAPP_PREFIX)):
        problems["sender"] = _("The sender is a number in international format, e.g. +4791234567.")
    if not sender and not messaging_service_sid:
        problems["sender"] = _("Give a sender number or a Messaging Service SID.")
    return problems


@transaction.atomic
def channel_create_twilio(
    *,
    kind: str,
    name: str,
    account_sid: str,
    auth_token: str,
    sender: str = "",
    messaging_service_sid: str = "",
) -> Channel:
    """Create an SMS or WhatsApp channel. Raises DomainError naming every bad field."""
    if kind not in config.TWILIO_KINDS:
        raise DomainError(_("Unknown Twilio channel kind."), code="bad_kind")
    if not name.strip():
        raise DomainError(_("A channel needs a name."), code="bad_name")
    sender = sender.strip().removeprefix(config.WHATSAPP_PREFIX)
    problems = check_twilio_credentials(
        account_sid=account_sid,
        auth_token=auth_token,
        sender=sender,
        messaging_service_sid=messaging_service_sid,
    )
    if problems:
        raise DomainError(
            " ".join(f"{field}: {reason}" for field, reason in problems.items()),
            code="bad_credentials",
        )
    return Channel.objects.create(
        kind=kind,
        name=name.strip()[:120],
        credentials={
            "account_sid": account_sid,
            "auth_token": auth_token,
            "sender": sender,
            "messaging_service_sid": messaging_service_sid,
        },
    )


def setup_html(channel: Channel) -> SafeString:
    """The admin's setup panel: the exact URLs to paste into Twilio (escaped)."""
    if channel.pk is None:
        return format_html("<p>{}</p>", _("Save the channel to see its webhook URLs."))
    where = (
        _("WhatsApp sender → Webhook URL for incoming messages")
        if channel.kind == ChannelKind.WHATSAPP
        else _("Phone number or Messaging Service → A message comes in (HTTP POST)")
    )
    return format_html(
        '<div class="twilio-setup">'
        "<p>{where}</p><p><code>{inbound}</code></p>"
        "<p>{status_label}</p><p><code>{status}</code></p>"
        "<p>{note}</p></div>",
        where=where,
        inbound=config.inbound_url(channel),
        status_label=_(
            "Status callback URL (sent with every reply; paste it into the Messaging "
            "Service's delivery status callback too):"
        ),
        status=config.status_url(channel),
        note=_("Twilio signs both with the auth token saved on this channel."),
    )
