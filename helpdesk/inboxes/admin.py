"""Channel admin for every kind. Secrets never appear on pages: the list shows none, and
credentials are edited through write-only fields (left empty = keep the saved value). A
read-only "setup" panel shows what to paste into the provider, from the kind's own
`channels_app.<kind>.setup.setup_html(channel)` when that module exists."""

from __future__ import annotations

import json
import logging
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from django import forms
from django.contrib import admin
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.inboxes.models import Channel, ChannelKind

logger = logging.getLogger(__name__)

TWILIO_KINDS = (ChannelKind.SMS, ChannelKind.WHATSAPP)
# Kind -> channels_app package that owns its setup panel.
SETUP_MODULES = {
    ChannelKind.SMS: "twilio",
    ChannelKind.WHATSAPP: "twilio",
    ChannelKind.WEB_WIDGET: "widget",
    ChannelKind.API: "widget",
    ChannelKind.EMAIL: "email",
}


def setup_panel_html(channel: Channel) -> SafeString:
    """The kind's setup panel, or a plain note when that kind has none (yet)."""
    package = SETUP_MODULES.get(channel.kind, channel.kind)
    module_name = f"channels_app.{package}.setup"
    try:
        has_module = find_spec(module_name) is not None
    except ModuleNotFoundError:
        has_module = False
    render = getattr(import_module(module_name), "setup_html", None) if has_module else None
    if render is None:
        return format_html("<p>{}</p>", _("No setup steps for this kind of channel."))
    return format_html("{}", render(channel))


class ChannelAdminForm(forms.ModelForm):
    twilio_account_sid = forms.CharField(label=gettext_lazy("Twilio account SID"), required=False)
    twilio_auth_token = forms.CharField(
        label=gettext_lazy("Twilio auth token"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=gettext_lazy("Write-only. Leave empty to keep the saved token."),
    )
    twilio_sender = forms.CharField(
        label=gettext_lazy("Sender number"),
        required=False,
        help_text=gettext_lazy("E.164, e.g. +4791234567. Or use a Messaging Service SID."),
    )
    twilio_messaging_service_sid = forms.CharField(
        label=gettext_lazy("Messaging Service SID"), required=False
    )
    credentials_json = forms.CharField(
        label=gettext_lazy("Other credentials (JSON)"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=gettext_lazy(
            "Write-only, for non-Twilio kinds. Leave empty to keep the saved credentials."
        ),
    )

    class Meta:
        model = Channel
        fields = ["kind", "name", "is_active", "default_team", "reopen_window_hours", "settings"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        creds = self.instance.credentials or {}
        self.fields["twilio_account_sid"].initial = creds.get("account_sid", "")
        self.fields["twilio_sender"].initial = creds.get("sender", "")
        self.fields["twilio_messaging_service_sid"].initial = creds.get("messaging_service_sid", "")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("kind")
        saved = dict(self.instance.credentials or {})
        if kind in TWILIO_KINDS:
            from channels_app.twilio.setup import check_twilio_credentials

            creds = {
                "account_sid": (data.get("twilio_account_sid") or "").strip(),
                "auth_token": data.get("twilio_auth_token") or saved.get("auth_token", ""),
                "sender": (data.get("twilio_sender") or "").strip(),
                "messaging_service_sid": (data.get("twilio_messaging_service_sid") or "").strip(),
            }
            for field, reason in check_twilio_credentials(**creds).items():
                self.add_error(f"twilio_{field}", reason)
            self._credentials = {**saved, **creds}
        else:
            raw = (data.get("credentials_json") or "").strip()
            if raw:
                try:
                    parsed = json.loads(raw)
                except ValueError:
                    parsed = None
                if not isinstance(parsed, dict):
                    self.add_error("credentials_json", _("Give a JSON object."))
                    parsed = saved
                self._credentials = parsed
            else:
                self._credentials = saved
        return data

    def save(self, commit: bool = True) -> Channel:
        self.instance.credentials = getattr(self, "_credentials", self.instance.credentials)
        return super().save(commit=commit)


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    form = ChannelAdminForm
    list_display = ["name", "kind", "is_active", "default_team", "created_at"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    list_select_related = ["default_team"]
    readonly_fields = ["public_id", "setup"]
    fieldsets = [
        (None, {"fields": ["kind", "name", "is_active", "default_team", "reopen_window_hours"]}),
        (
            gettext_lazy("Twilio (SMS and WhatsApp)"),
            {
                "fields": [
                    "twilio_account_sid",
                    "twilio_auth_token",
                    "twilio_sender",
                    "twilio_messaging_service_sid",
                ]
            },
        ),
        (gettext_lazy("Other kinds"), {"fields": ["credentials_json", "settings"]}),
        (gettext_lazy("Setup"), {"fields": ["public_id", "setup"]}),
    ]

    @admin.display(description=gettext_lazy("setup"))
    def setup(self, obj: Channel | None) -> SafeString:
        if obj is None or obj.pk is None:
            return format_html("<p>{}</p>", _("Save the channel to see its setup steps."))
        return setup_panel_html(obj)
