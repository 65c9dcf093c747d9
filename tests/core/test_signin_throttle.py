from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from helpdesk.core import signin_throttle
from tests.support import factories

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_counts():
    cache.clear()
    yield
    cache.clear()


def test_console_sign_in_is_refused_after_repeated_failures(client, monkeypatch):
    monkeypatch.setattr(signin_throttle, "MAX_FAILURES", 3)
    factories.AgentFactory(username="ola")
    url = reverse("console:login")
    for _ in range(3):
        client.post(url, {"username": "ola", "password": "wrong"})
    refused = client.post(url, {"username": "ola", "password": "pw-for-tests-1"})
    assert refused.status_code == 200 and "Too many failed sign-ins" in refused.content.decode()
    assert "_auth_user_id" not in client.session
    cache.clear()  # the window passes
    signed = client.post(url, {"username": "ola", "password": "pw-for-tests-1"})
    assert signed.status_code == 302


def test_admin_sign_in_is_throttled_too(client, monkeypatch):
    monkeypatch.setattr(signin_throttle, "MAX_FAILURES", 2)
    factories.ManagerFactory(username="boss")
    url = reverse("admin:login")
    for _ in range(2):
        client.post(url, {"username": "boss", "password": "wrong"})
    refused = client.post(url, {"username": "boss", "password": "pw-for-tests-1"})
    assert "Too many failed sign-ins" in refused.content.decode()
