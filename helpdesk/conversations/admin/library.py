"""Labels and canned responses."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.conversations.models import CannedResponse, Label
from helpdesk.sla.admin_hooks import DeletionReevaluatesSLAMixin

CANNED_VARIABLES = (
    "{{customer.name}}",
    "{{customer.first_name}}",
    "{{customer.email}}",
    "{{customer.phone}}",
    "{{agent.name}}",
    "{{conversation.id}}",
    "{{channel.name}}",
)


# --- Labels and canned responses ---------------------------------------------------------------


@admin.register(Label)
class LabelAdmin(DeletionReevaluatesSLAMixin, admin.ModelAdmin):
    sla_rule_field = "labels"
    list_display = ["name", "title", "swatch", "description", "conversation_count"]
    search_fields = ["name", "title", "description"]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(_conversations=Count("conversation"))

    @admin.display(description=gettext_lazy("colour"))
    def swatch(self, obj: Label) -> str:
        return format_html(
            '<span style="display:inline-block;inline-size:1em;block-size:1em;'
            'background:{};border-radius:2px"></span> {}',
            obj.color,
            obj.color,
        )

    @admin.display(description=gettext_lazy("conversations"), ordering="_conversations")
    def conversation_count(self, obj: Label) -> int:
        return obj._conversations


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ["shortcut", "team", "preview", "created_at"]
    list_filter = ["team"]
    search_fields = ["shortcut", "text"]
    list_select_related = ["team"]

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "text" and field is not None:
            field.help_text = format_html(
                "{} {}",
                _("Variables filled in when the response is used:"),
                format_html_join(", ", "<code>{}</code>", ((v,) for v in CANNED_VARIABLES)),
            )
        return field

    @admin.display(description=gettext_lazy("text"))
    def preview(self, obj: CannedResponse) -> str:
        return Truncator(obj.text).chars(80)
