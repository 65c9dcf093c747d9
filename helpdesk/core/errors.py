"""Domain errors. Views turn them into clear 400/403/409/413 answers; jobs log and stop."""

from __future__ import annotations


class DomainError(Exception):
    """A rule of the domain refused the operation. `code` is stable, `message` is for people."""

    code = "invalid"
    http_status = 400

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class IllegalTransition(DomainError):
    code = "illegal_transition"
    http_status = 409


class PermissionDenied(DomainError):
    code = "permission_denied"
    http_status = 403


class PayloadTooLarge(DomainError):
    code = "too_large"
    http_status = 413


class DeliveryRefused(DomainError):
    """An outbound message may not be sent (opted out, outside a messaging window, ...)."""

    code = "delivery_refused"
    http_status = 409
