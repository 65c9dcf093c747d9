"""Admin for the core bookkeeping models, plus small helpers the other apps' admins share:
read-only admins, intermediate action pages, and per-object error reporting for bulk actions."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpdesk.core.errors import DomainError
from helpdesk.core.models import RealtimeEvent, WorkerHeartbeat

# How many failures a bulk action lists one by one before summing up the rest.
MAX_REPORTED_FAILURES = 10


class ReadOnlyAdminMixin:
    """Rows written only by services or jobs: viewable, searchable, never edited here."""

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ReadOnlyInlineMixin(ReadOnlyAdminMixin):
    extra = 0
    can_delete = False
    show_change_link = True


# No literal text in this template: every label comes translated from Python, so the page
# works in all six languages and right-to-left (the admin's base template sets `dir`).
_INTERMEDIATE_TEMPLATE = """{% extends "admin/base_site.html" %}
{% block breadcrumbs %}<div class="breadcrumbs">
<a href="{% url 'admin:index' %}">{{ home_label }}</a>
&rsaquo; <a href="{{ changelist_url }}">{{ opts.verbose_name_plural|capfirst }}</a>
&rsaquo; {{ title }}</div>{% endblock %}
{% block content %}
<form method="post">{% csrf_token %}
<p>{{ intro }}</p>
<ul>{% for obj in shown %}<li>{{ obj }}</li>{% endfor %}
{% if more %}<li>{{ more }}</li>{% endif %}</ul>
<fieldset class="module aligned">{% for field in form %}
<div class="form-row">{{ field.errors }}{{ field.label_tag }} {{ field }}
{% if field.help_text %}<div class="help">{{ field.help_text }}</div>{% endif %}</div>
{% endfor %}</fieldset>
{% for pk in selected %}<input type="hidden" name="_selected_action" value="{{ pk }}">{% endfor %}
<input type="hidden" name="action" value="{{ action }}">
<input type="hidden" name="select_across" value="{{ select_across }}">
<div class="submit-row">
<input type="submit" name="apply" value="{{ submit_label }}" class="default">
<a href="{{ changelist_url }}" class="button cancel-link">{{ cancel_label }}</a>
</div>
</form>
{% endblock %}
"""

SHOWN_OBJECTS = 20


def intermediate_form(
    *,
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    form_class: type[forms.Form],
    action: str,
    title: str,
    intro: str,
    submit_label: str,
    form_kwargs: dict[str, Any] | None = None,
) -> tuple[forms.Form | None, HttpResponse | None]:
    """Run an action through a confirmation page holding `form_class`.

    Returns (valid form, None) once the manager submitted the page, else (None, page).
    The page re-posts the selection and the action name, so the admin routes it back here.
    """
    kwargs = form_kwargs or {}
    if "apply" in request.POST:
        form = form_class(request.POST, **kwargs)
        if form.is_valid():
            return form, None
    else:
        form = form_class(**kwargs)
    opts = modeladmin.model._meta
    total = queryset.count()
    shown = list(queryset[:SHOWN_OBJECTS])
    context = {
        **modeladmin.admin_site.each_context(request),
        "opts": opts,
        "title": title,
        "intro": intro,
        "form": form,
        "shown": shown,
        "more": _("…and %(n)s more") % {"n": total - len(shown)} if total > len(shown) else "",
        "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
        "select_across": request.POST.get("select_across", "0"),
        "action": action,
        "submit_label": submit_label,
        "cancel_label": _("Cancel"),
        "home_label": _("Home"),
        "changelist_url": request.get_full_path(),
    }
    template = engines["django"].from_string(_INTERMEDIATE_TEMPLATE)
    return None, TemplateResponse(request, template, context)


def apply_to_each(
    *,
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    objects: Iterable[Model],
    operation: Callable[[Model], Any],
    success_message: str,
) -> int:
    """Call `operation` (a service call) per object; a refused one is reported, never fatal."""
    done = 0
    failures: list[str] = []
    for obj in objects:
        try:
            operation(obj)
        except DomainError as error:
            failures.append(f"{obj}: {error.message}")
        else:
            done += 1
    for line in failures[:MAX_REPORTED_FAILURES]:
        modeladmin.message_user(request, line, messages.ERROR)
    if len(failures) > MAX_REPORTED_FAILURES:
        modeladmin.message_user(
            request,
            _("%(n)s more could not be changed.") % {"n": len(failures) - MAX_REPORTED_FAILURES},
            messages.ERROR,
        )
    if done:
        modeladmin.message_user(request, success_message % {"n": done}, messages.SUCCESS)
    return done


@admin.register(RealtimeEvent)
class RealtimeEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "group", "type", "created_at"]
    list_filter = ["type"]
    search_fields = ["=group", "type"]
    date_hierarchy = "created_at"
    show_full_result_count = False  # the log is large; skip the second COUNT(*)
    readonly_fields = ["group", "type", "payload", "created_at"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["name", "beat_at", "age"]
    search_fields = ["name"]

    @admin.display(description=gettext_lazy("seconds since last beat"))
    def age(self, obj: WorkerHeartbeat) -> int:
        return int((timezone.now() - obj.beat_at).total_seconds())
