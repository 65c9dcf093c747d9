"""Admin for the channel integrations' own models."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy, ngettext

from channels_app.ingest.processor import raw_inbound_replay
from channels_app.models import (
    OutboundAttempt,
    RawInbound,
    RawInboundState,
    TwilioStatusEvent,
    WhatsAppTemplate,
)
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
    list_display = [
        "message",
        "state",
        "attempts",
        "reconciliations",
        "provider_sid",
        "last_error",
        "updated_at",
    ]
    list_filter = ["state"]
    search_fields = ["provider_sid"]
    raw_id_fields = ["message"]
    list_select_related = ["message"]


@admin.register(RawInbound)
class RawInboundAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Stored provider webhooks. Parked rows (repeated failures) show their error and can be
    put back in the queue once the cause is fixed."""

    list_display = ["id", "kind", "channel", "state", "attempts", "received_at", "processed_at"]
    list_filter = ["state", "kind", "channel"]
    search_fields = ["external_id"]
    list_select_related = ["channel"]
    readonly_fields = [
        "channel",
        "kind",
        "external_id",
        "order_key",
        "state",
        "attempts",
        "received_at",
        "available_at",
        "processed_at",
        "last_error",
        "payload",
    ]
    actions = ["replay"]

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("channels_app.change_rawinbound")

    @admin.action(permissions=["replay"], description=gettext_lazy("Process again"))
    def replay(self, request: HttpRequest, queryset: QuerySet[RawInbound]) -> None:
        ids = list(queryset.filter(state=RawInboundState.PARKED).values_list("pk", flat=True))
        moved = raw_inbound_replay(row_ids=ids)
        self.message_user(
            request,
            ngettext(
                "%(n)d parked webhook queued again.", "%(n)d parked webhooks queued again.", moved
            )
            % {"n": moved},
            messages.SUCCESS if moved else messages.WARNING,
        )
