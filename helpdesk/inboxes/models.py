from __future__ import annotations

import secrets
import uuid

from django.db import models
from django.utils.translation import gettext_lazy as _


def _new_secret() -> str:
    return secrets.token_urlsafe(32)


class ChannelKind(models.TextChoices):
    WEB_WIDGET = "web_widget", _("Web widget")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    EMAIL = "email", _("Email")
    API = "api", _("API")


class Channel(models.Model):
    """One connected inbox: a widget on a site, a Twilio number, a mailbox, an API source.

    `public_id` is what appears in webhook URLs and widget snippets (never the pk).
    `credentials` holds provider secrets: kept out of logs, `repr` and admin list pages.
    `settings` holds non-secret, kind-specific options.
    """

    kind = models.CharField(_("kind"), max_length=20, choices=ChannelKind.choices)
    name = models.CharField(_("name"), max_length=120)
    public_id = models.UUIDField(_("public id"), default=uuid.uuid4, unique=True, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    settings = models.JSONField(_("settings"), default=dict, blank=True)
    credentials = models.JSONField(_("credentials"), default=dict, blank=True)
    signing_secret = models.CharField(
        _("signing secret"),
        max_length=100,
        default=_new_secret,
        help_text=_("Signs widget identities and visitor tokens for this channel."),
    )
    reopen_window_hours = models.PositiveIntegerField(
        _("reopen window (hours)"),
        default=24,
        help_text=_(
            "A customer message within this many hours of resolving reopens the conversation; "
            "later messages start a new one."
        ),
    )
    default_team = models.ForeignKey(
        "agents.Team",
        verbose_name=_("default team"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("channel")
        verbose_name_plural = _("channels")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def __repr__(self) -> str:  # never show credentials
        return f"<Channel {self.pk} {self.kind} {self.name!r}>"

    def credential(self, key: str, default: str = "") -> str:
        return str(self.credentials.get(key, default))

    def setting(self, key: str, default: object = None) -> object:
        return self.settings.get(key, default)
