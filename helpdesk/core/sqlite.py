"""SQLite's own LOWER() and LIKE fold ASCII letters only, so "ØRN" never matches "ørn" and
"CAFÉ" never matches "café". Every SQLite connection gets `relay_casefold(text)` (Python's
Unicode case folding); the embedded-mode search compares through it. PostgreSQL needs none
of this."""

from __future__ import annotations

from typing import Any

from django.db.models import Func, TextField


def _casefold(value: object) -> str | None:
    return None if value is None else str(value).casefold()


def install_casefold(sender: Any, connection: Any, **kwargs: Any) -> None:
    """`connection_created` receiver: database setup, not business logic."""
    if connection.vendor == "sqlite":
        connection.connection.create_function("relay_casefold", 1, _casefold, deterministic=True)


class Casefold(Func):
    function = "relay_casefold"
    output_field = TextField()
