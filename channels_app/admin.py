"""Admin for the channel integrations' own models."""

from __future__ import annotations

from django.contrib import admin

from channels_app.models import OutboundAttempt, TwilioStatusEvent, WhatsAppTemplate
from helpdesk.core.admin import ReadOnlyAdminMixin


@admin.register(WhatsAppTemplate)
class WhatsAppTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "channel", "content_sid", "language", "is_active"]
    list_filter = ["is_active", "channel"]
    search_fields = ["name", "content_sid"]
    list_select_related = ["channel"]
    fields = ["channel", "name", "content_sid", "language", "body", "variables", "is_active"]


@admin.register(TwilioStatusEvent)
class TwilioStatusEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["message_sid", "status", "error_code", "channel", "received_at"]
    list_filter = ["status"]
    search_fields = ["message_sid"]
    list_select_related = ["channel"]


@admin.register(OutboundAttempt)
class OutboundAttemptAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["message", "state", "attempts", "provider_sid", "last_error", "updated_at"]
    list_filter = ["state"]
    search_fields = ["provider_sid"]
    raw_id_fields = ["message"]
    list_select_related = ["message"]
