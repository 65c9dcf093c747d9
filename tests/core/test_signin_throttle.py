from __future__ import annotations

import time

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


def _at(start: float, offset: float) -> None:
    time.sleep(max(0.0, start + offset - time.monotonic()))


def test_signin_lockout_lasts_the_whole_window_from_the_failure_that_started_it(monkeypatch):
    monkeypatch.setattr(signin_throttle, "MAX_FAILURES", 3)
    monkeypatch.setattr(signin_throttle, "WINDOW_SECONDS", 2)
    failed, blocked = signin_throttle.signin_failed, signin_throttle.signin_blocked
    start = time.monotonic()
    failed(ip="198.51.100.1", username="ola")
    _at(start, 1.2)
    failed(ip="198.51.100.1", username="per")
    failed(ip="198.51.100.1", username="siv")  # the address's third failure: locked out
    failed(ip="198.51.100.2", username="ola")
    failed(ip="198.51.100.3", username="ola")  # the username's third failure: locked out
    _at(start, 2.4)  # the first failures' window is over; the lockouts are not
    assert blocked(ip="198.51.100.1", username="anyone")
    assert blocked(ip="203.0.113.9", username="OLA")
    assert not blocked(ip="198.51.100.2", username="per")
    _at(start, 3.6)
    assert not blocked(ip="198.51.100.1", username="anyone")
    assert not blocked(ip="203.0.113.9", username="ola")


def test_console_sign_in_works_and_is_throttled_while_redis_is_down(
    client, own_redis_cache, monkeypatch
):
    monkeypatch.setattr(signin_throttle, "MAX_FAILURES", 2)
    factories.AgentFactory(username="ola")
    url = reverse("console:login")
    own_redis_cache.stop()
    assert client.post(url, {"username": "ola", "password": "pw-for-tests-1"}).status_code == 302
    client.logout()
    for _ in range(2):
        assert client.post(url, {"username": "ola", "password": "wrong"}).status_code == 200
    refused = client.post(url, {"username": "ola", "password": "pw-for-tests-1"})
    assert "Too many failed sign-ins" in refused.content.decode()
