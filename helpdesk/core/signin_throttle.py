"""Sign-in throttling for the console and admin: after too many failed attempts from one
address, or for one username, further attempts are refused for a while (a password-guessing
script gets nowhere; a person who mistyped waits a few minutes). Counts live in the shared
cache (Redis in production, so every web process sees them); while it is unreachable, in each
process (helpdesk.core.counters)."""

from __future__ import annotations

from typing import Any

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from helpdesk.core.counters import (
    counter_extend,
    counter_increment,
    counter_reset,
    counter_value,
)

MAX_FAILURES = 10
WINDOW_SECONDS = 15 * 60


def _user_key(username: str) -> str:
    return f"signin:user:{username.strip().lower()[:150]}"


def _keys(ip: str, username: str) -> list[str]:
    return [f"signin:ip:{ip}", _user_key(username)]


def signin_blocked(*, ip: str, username: str) -> bool:
    return any(counter_value(key) >= MAX_FAILURES for key in _keys(ip, username))


def signin_failed(*, ip: str, username: str) -> None:
    """Count a failure for the address and for the username. Failures count for
    WINDOW_SECONDS from the first one; the failure that reaches MAX_FAILURES starts a lockout
    of a whole WINDOW_SECONDS from then (not only the rest of the counting window)."""
    for key in _keys(ip, username):
        if counter_increment(key, timeout=WINDOW_SECONDS) == MAX_FAILURES:
            counter_extend(key, timeout=WINDOW_SECONDS)


def signin_succeeded(*, username: str) -> None:
    counter_reset(_user_key(username))


THROTTLED = _(
    "Too many failed sign-ins. Please wait 15 minutes and try again, or ask a manager to reset "
    "your password."
)


class SigninThrottleMixin:
    """For Django's sign-in forms: refuse early once the address or the username has failed
    too often (before the password is even tried); count failures; forget them on success."""

    request: HttpRequest | None
    cleaned_data: dict[str, Any]

    def clean(self) -> dict[str, Any]:
        ip = (self.request.META.get("REMOTE_ADDR") if self.request else None) or "unknown"
        username = self.cleaned_data.get("username") or ""
        if signin_blocked(ip=ip, username=username):
            raise ValidationError(THROTTLED, code="throttled")
        try:
            cleaned = super().clean()  # type: ignore[misc]
        except ValidationError:
            signin_failed(ip=ip, username=username)
            raise
        signin_succeeded(username=username)
        return cleaned


class ThrottledAuthenticationForm(SigninThrottleMixin, AuthenticationForm):
    pass


class ThrottledAdminAuthenticationForm(SigninThrottleMixin, AdminAuthenticationForm):
    pass
