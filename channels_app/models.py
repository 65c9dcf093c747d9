"""State owned by the channel integrations: Twilio status-callback log, WhatsApp templates and
outbound-attempt bookkeeping. Domain state (messages, opt-outs) stays in the domain apps."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

_VARIABLE = re.compile(r"^[A-Za-z0-9_]{1,40}$")


class TwilioStatusEvent(models.Model):
    """Append-only log of Twilio status callbacks: each (MessageSid, status) once.

    Kept even when the SID is not (yet) on one of our messages: a callback can beat the
    response of `messages.create`, and delivery replays the log when it stores the SID.
    """

    channel = models.ForeignKey(
        "inboxes.Channel", verbose_name=_("channel"), on_delete=models.CASCADE, related_name="+"
    )
    message_sid = models.CharField(_("message SID"), max_length=64)
    status = models.CharField(_("status"), max_length=24)
    error_code = models.CharField(_("error code"), max_length=20, blank=True)
    received_at = models.DateTimeField(_("received"), auto_now_add=True)

    class Meta:
        verbose_name = _("Twilio status callback")
        verbose_name_plural = _("Twilio status callbacks")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["message_sid", "status"], name="twilio_status_once")
        ]

    def __str__(self) -> str:
        return f"{self.message_sid} {self.status}"


class WhatsAppTemplate(models.Model):
    """An approved WhatsApp template (Twilio Content API) usable outside the 24-hour window."""

    channel = models.ForeignKey(
        "inboxes.Channel",
        verbose_name=_("channel"),
        on_delete=models.CASCADE,
        related_name="whatsapp_templates",
        limit_choices_to={"kind": "whatsapp"},
    )
    name = models.CharField(_("name"), max_length=100)
    content_sid = models.CharField(
        _("Content SID"),
        max_length=34,
        validators=[RegexValidator(r"^HX[0-9a-fA-F]{32}$", _("A Content SID looks like HX…"))],
    )
    language = models.CharField(_("language"), max_length=10, blank=True)
    body = models.TextField(
        _("preview text"),
        blank=True,
        help_text=_("The approved text with {{variable}} placeholders, shown to agents."),
    )
    variables = models.JSONField(
        _("variables"),
        default=list,
        blank=True,
        help_text=_('Names of the template variables in order, e.g. ["1", "2"] or ["name"].'),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("WhatsApp template")
        verbose_name_plural = _("WhatsApp templates")
        ordering = ["channel", "name"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "name"], name="wa_template_unique_name"),
            models.UniqueConstraint(
                fields=["channel", "content_sid"], name="wa_template_unique_sid"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        names = self.variables
        if not isinstance(names, list) or not all(
            isinstance(n, str) and _VARIABLE.match(n) for n in names
        ):
            raise ValidationError(
                {"variables": _("Give a list of variable names (letters, digits, _).")}
            )
        if len(set(names)) != len(names):
            raise ValidationError({"variables": _("Variable names must be unique.")})

    def render_preview(self, values: dict[str, Any]) -> str:
        text = self.body
        for name in self.variables:
            text = text.replace("{{" + name + "}}", str(values.get(name, "")))
        return text


class AttemptState(models.TextChoices):
    CLAIMED = "claimed", _("Sending now")
    WAITING = "waiting", _("Waiting to retry")
    DONE = "done", _("Handed to Twilio")
    FAILED = "failed", _("Failed")


class OutboundAttempt(models.Model):
    """One row per outbound message handed to Twilio: the claim that makes a send happen once.

    A job creates the row (unique per message) before calling Twilio; a second job finds it and
    does nothing. `waiting` rows are re-claimed only by the scheduled retry. A `claimed` row
    older than the stale age is taken over by reconciliation (`channels_app.twilio.reconcile`),
    which counts its take-overs in `reconciliations`.
    """

    message = models.OneToOneField(
        "conversations.Message", on_delete=models.CASCADE, related_name="twilio_attempt"
    )
    state = models.CharField(max_length=10, choices=AttemptState.choices)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    provider_sid = models.CharField(max_length=64, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    reconciliations = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("Twilio send attempt")
        verbose_name_plural = _("Twilio send attempts")
        indexes = [
            models.Index(
                fields=["state", "claimed_at"],
                name="twilio_attempt_open",
                condition=Q(state__in=["claimed", "waiting"]),
            )
        ]

    def __str__(self) -> str:
        return f"message {self.message_id}: {self.state}"


class SenderPace(models.Model):
    """When the next send of one Twilio sender is due: the per-sender rate limit, shared by every
    worker process through the database (see `channels_app.twilio.ratelimit`)."""

    sender = models.CharField(max_length=100, unique=True)
    # Seconds since the epoch (GCRA's "theoretical arrival time"); a float keeps the
    # conditional UPDATE that takes a slot one plain comparison on every database.
    next_send_at = models.FloatField(default=0.0)

    class Meta:
        verbose_name = _("Twilio sender pace")
        verbose_name_plural = _("Twilio sender paces")

    def __str__(self) -> str:
        return self.sender


class RawInboundState(models.TextChoices):
    PENDING = "pending", _("Waiting to be processed")
    DONE = "done", _("Processed")
    PARKED = "parked", _("Parked after repeated failures")


class RawInbound(models.Model):
    """One provider webhook as it arrived, stored before we answer it (durable accept).

    The web process verifies the signature and inserts this row (once per channel, kind and
    provider id); the ingest process turns pending rows into customers, conversations and
    messages in batches. Rows with one `order_key` (one sender) are processed in id order. A
    row that keeps failing is parked with its error, for a manager to read and replay.
    """

    channel = models.ForeignKey(
        "inboxes.Channel", verbose_name=_("channel"), on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=40)
    external_id = models.CharField(_("provider id"), max_length=200)
    order_key = models.CharField(_("order key"), max_length=200)
    payload = models.JSONField(_("payload"))
    received_at = models.DateTimeField(_("received"), default=timezone.now)
    state = models.CharField(
        _("state"),
        max_length=10,
        choices=RawInboundState.choices,
        default=RawInboundState.PENDING,
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    available_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    last_error = models.TextField(_("last error"), blank=True)
    processed_at = models.DateTimeField(_("processed"), null=True, blank=True)

    class Meta:
        verbose_name = _("inbound webhook")
        verbose_name_plural = _("inbound webhooks")
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "kind", "external_id"], name="raw_inbound_once"
            )
        ]
        indexes = [
            models.Index(
                fields=["id"], name="raw_inbound_pending", condition=Q(state="pending")
            ),
            models.Index(
                fields=["order_key", "id"],
                name="raw_inbound_pending_key",
                condition=Q(state="pending"),
            ),
            models.Index(
                fields=["processed_at"], name="raw_inbound_done", condition=Q(state="done")
            ),
            # Parked rows are few and kept 30 days among many done ones: /healthz counts them.
            models.Index(fields=["id"], name="raw_inbound_parked", condition=Q(state="parked")),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.external_id}"
