"""Twilio error codes: which are worth a retry, and what each means for an agent."""

from __future__ import annotations

from django.utils.translation import gettext as _

RATE_LIMITED_CODES = frozenset({20429, 14107})
OPT_OUT_CODE = 21610
OUTSIDE_WINDOW_CODE = 63016
# Our own failures for a send whose outcome we could not see: `interrupted` when reconciliation
# could not decide (`reconcile.py`), `ambiguous` from releases that failed an unknown outcome
# at once. The message may have gone out, so a real status from Twilio replaces them.
PROVISIONAL_FAILURE_CODES = frozenset({"ambiguous", "interrupted"})


def reason_for(code: str | int | None, fallback: str = "") -> str:
    """A sentence an agent can act on, for Twilio error codes we know."""
    reasons = {
        "21211": _("The customer's phone number is not valid."),
        "21408": _("This Twilio account may not send to the customer's country."),
        "21610": _("The customer has unsubscribed (replied STOP); messages cannot be sent."),
        "21612": _("Twilio cannot route a message between these two numbers."),
        "21614": _("The customer's number cannot receive text messages."),
        "20003": _("Twilio refused the channel's credentials; check the auth token."),
        "20429": _("Twilio is rate limiting this sender; the message was retried too often."),
        "30003": _("The customer's phone is unreachable."),
        "30004": _("The message was blocked by the customer's carrier."),
        "30005": _("The customer's number is unknown or no longer exists."),
        "30006": _("The customer's number is a landline or cannot receive messages."),
        "30007": _("The carrier filtered the message as spam."),
        "30008": _("The carrier could not deliver the message (unknown error)."),
        "63016": _("Outside WhatsApp's 24-hour window: only an approved template can be sent."),
        "63024": _("The recipient is not a valid WhatsApp user."),
        "ambiguous": _(
            "Twilio did not confirm the send (timeout or server error); it may or may not "
            "have gone out. Check with the customer before sending again."
        ),
        "interrupted": _(
            "Sending was interrupted; it may or may not have gone out. Check with the "
            "customer before sending again."
        ),
        "canceled": _("The message was canceled before Twilio sent it."),
        "connection": _("Twilio could not be reached; the message was retried too often."),
        "no_recipient": _("The customer has no phone number or WhatsApp id for this channel."),
        "not_configured": _("The channel has no Twilio credentials or sender configured."),
    }
    known = reasons.get(str(code or ""))
    if known:
        return known
    return fallback or _("Twilio refused the message (error %(code)s).") % {"code": code}
