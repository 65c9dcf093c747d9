"""Every registered model's list, search, change and add pages work on the demo data."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.urls import reverse

from helpdesk.demo.loader import demo_load

pytestmark = pytest.mark.django_db


def test_admin_pages_render_for_every_model_on_demo_data(client):
    demo_load()
    client.force_login(get_user_model().objects.get(username="manager"))
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        name = f"admin:{opts.app_label}_{opts.model_name}"
        changelist = client.get(reverse(f"{name}_changelist"))
        assert changelist.status_code == 200, name
        if model_admin.search_fields:
            assert client.get(reverse(f"{name}_changelist"), {"q": "a"}).status_code == 200, name
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            change = client.get(reverse(f"{name}_change", args=[first.pk]))
            assert change.status_code == 200, name
        if model_admin.has_add_permission(changelist.wsgi_request):
            assert client.get(reverse(f"{name}_add")).status_code == 200, name
