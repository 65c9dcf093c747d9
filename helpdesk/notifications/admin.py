from django.contrib import admin

from helpdesk.core.admin import ReadOnlyAdminMixin
from helpdesk.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "recipient", "kind", "conversation", "created_at", "read_at"]
    list_filter = ["kind", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["=conversation__id", "recipient__username"]
    list_select_related = ["recipient", "conversation__customer"]
    date_hierarchy = "created_at"
