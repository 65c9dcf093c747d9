"""Messages and attachments: read-only (services write them); the capped history inline."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext, gettext_lazy

from helpdesk.conversations.downloads import attachment_signed_path
from helpdesk.conversations.models import Attachment, AttachmentStatus, Message
from helpdesk.conversations.services.activity import display_name
from helpdesk.core.admin import ReadOnlyAdminMixin

MESSAGE_HISTORY_CAP = 50


def sender_label(message: Message) -> str:
    if message.sender_user_id:
        return f"{message.get_sender_type_display()}: {display_name(message.sender_user)}"
    return str(message.get_sender_type_display())


# --- Message history inline -------------------------------------------------------------------


class LatestMessagesFormSet(forms.BaseInlineFormSet):
    """Only the newest messages: a long thread must not make the change page huge."""

    def get_queryset(self) -> QuerySet:
        if not hasattr(self, "_latest"):
            self._latest = super().get_queryset().order_by("-id")[:MESSAGE_HISTORY_CAP]
        return self._latest


class MessageInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Message
    formset = LatestMessagesFormSet
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = gettext_lazy("latest messages (newest first, at most 50)")
    fields = ["created_at", "direction", "kind", "sender", "body", "delivery_status", "error"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("sender_user__agent_profile")

    @admin.display(description=gettext_lazy("sender"))
    def sender(self, obj: Message) -> str:
        return sender_label(obj)

    @admin.display(description=gettext_lazy("text"))
    def body(self, obj: Message) -> str:
        return Truncator(obj.text).chars(500)  # plain str: the admin escapes it

    @admin.display(description=gettext_lazy("error"))
    def error(self, obj: Message) -> str:
        return " ".join(x for x in (obj.error_code, obj.error_message) if x)


# --- Messages and attachments (read-only: written by services only) -------------------------


@admin.display(description=gettext_lazy("file"))
def attachment_download(obj: Attachment) -> str:
    """A signed link: files are never served from a public media URL."""
    if obj.status != AttachmentStatus.STORED or not obj.file:
        return "—"
    return format_html(
        '<a href="{}" rel="noopener">{}</a>', attachment_signed_path(obj), gettext("Download")
    )


class AttachmentInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = Attachment
    extra = 0
    fields = ["filename", "content_type", "size", "status", "error", attachment_download]
    readonly_fields = fields


@admin.register(Message)
class MessageAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "conversation",
        "customer",
        "channel",
        "direction",
        "kind",
        "sender",
        "preview",
        "delivery_status",
        "error_code",
        "created_at",
    ]
    list_filter = ["direction", "kind", "sender_type", "delivery_status", "channel"]
    search_fields = ["=conversation__id", "=external_id", "text"]
    list_select_related = ["conversation__customer", "channel", "sender_user__agent_profile"]
    date_hierarchy = "created_at"
    ordering = ["-id"]
    show_full_result_count = False
    inlines = [AttachmentInline]
    readonly_fields = [
        "conversation",
        "channel",
        "direction",
        "kind",
        "sender_type",
        "sender_user",
        "text",
        "content_attributes",
        "external_id",
        "client_id",
        "delivery_status",
        "error_code",
        "error_message",
        "status_updated_at",
        "created_at",
    ]

    @admin.display(description=gettext_lazy("customer"))
    def customer(self, obj: Message) -> str:
        return str(obj.conversation.customer)

    @admin.display(description=gettext_lazy("sender"))
    def sender(self, obj: Message) -> str:
        return sender_label(obj)

    @admin.display(description=gettext_lazy("text"))
    def preview(self, obj: Message) -> str:
        return Truncator(obj.text).chars(80)


@admin.register(Attachment)
class AttachmentAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "filename", "content_type", "size", "status", "message", "created_at"]
    exclude = ["file"]
    readonly_fields = [attachment_download]
    list_filter = ["status", "content_type"]
    search_fields = ["filename", "=message__conversation__id"]
    list_select_related = ["message"]
