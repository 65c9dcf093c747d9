"""Small helpers for driving the admin like a manager does."""

from __future__ import annotations

from typing import Any

from django.contrib.messages import get_messages
from django.urls import reverse


def run_action(client, model_url: str, action: str, pks: list[int], **extra: Any):
    """POST an admin action for `pks` from the changelist (as the action bar does)."""
    data = {"action": action, "_selected_action": [str(pk) for pk in pks], "index": "0"}
    data.update({k: str(v) for k, v in extra.items()})
    return client.post(reverse(model_url), data, follow=False)


def flash(response) -> list[tuple[str, str]]:
    return [(m.level_tag, str(m)) for m in get_messages(response.wsgi_request)]


def change_form_data(response) -> dict[str, Any]:
    """The POST a manager sends unchanged, built from a GET of the change page."""
    form = response.context["adminform"].form
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if value is None:
            value = ""
        if name == "labels":
            value = [str(getattr(v, "pk", v)) for v in value]
        elif name == "custom_attributes":
            value = field.prepare_value(value)
        elif hasattr(value, "pk"):
            value = value.pk
        data[name] = value
    for inline in response.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        for name in management.fields:
            data[management.add_prefix(name)] = management.initial.get(name, "")
        for inline_form in inline.formset.forms:
            pk_name = inline_form.add_prefix(inline.formset.model._meta.pk.name)
            data[pk_name] = str(inline_form.instance.pk)
    return data
