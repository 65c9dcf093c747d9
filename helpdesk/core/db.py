"""Database connections outside Django's request cycle.

`conninfo()` builds direct psycopg connections (the durable-accept pool, LISTEN/NOTIFY) from the
one DATABASES setting, so they always reach the same database. `release_connection()` hands
back the connection that ORM code running in an executor thread opened, since no request
finishes there to close it.
"""

from __future__ import annotations

from django.db import connection
from psycopg.conninfo import make_conninfo


def conninfo() -> str:
    """libpq connection string for the default database (PostgreSQL only)."""
    db = connection.settings_dict
    params = {
        "dbname": db["NAME"],
        "user": db.get("USER") or None,
        "password": db.get("PASSWORD") or None,
        "host": db.get("HOST") or None,
        "port": str(db["PORT"]) if db.get("PORT") else None,
        "application_name": "relay",
    }
    return make_conninfo(**{k: v for k, v in params.items() if v is not None})


def release_connection() -> None:
    """Close (or return to the pool) this thread's connection, unless a transaction is open
    around us (a test's, or a caller's): closing then would break it."""
    if not connection.in_atomic_block:
        connection.close()
