"""Database connections outside Django's request cycle.

`conninfo()` builds direct psycopg connections (the durable-accept pool, LISTEN/NOTIFY) from the
one DATABASES setting, so they always reach the same database. `release_connection()` hands
back the connection that ORM code running in an executor thread opened, since no request
finishes there to close it. `update_rows()` writes many rows of one model in one statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Model
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


def update_rows(objs: Sequence[Model], fields: Sequence[str]) -> None:
    """Write `fields` of each of `objs` (one model) in one statement on PostgreSQL: an UPDATE
    joined to the new values passed as one array per column. Elsewhere, one UPDATE per row.

    Django's `bulk_update` builds a CASE per column with a branch per row, which PostgreSQL
    evaluates row by row: slower than separate UPDATEs at a few hundred rows. Values are
    prepared exactly as `save()` would (`pre_save`, `get_db_prep_save`)."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        for obj in objs:
            obj.save(update_fields=list(fields))
        return
    model = type(objs[0])
    meta = model._meta
    concrete = [meta.get_field(name) for name in fields]
    columns: list[list[Any]] = [[] for _ in concrete]
    for obj in objs:
        for column, field in zip(columns, concrete, strict=True):
            value = field.pre_save(obj, add=False)
            column.append(field.get_db_prep_save(value, connection))
    pk = meta.pk
    quote = connection.ops.quote_name
    arrays = ", ".join(
        f"unnest(%s::{field.db_type(connection)}[]) AS {quote(field.column)}"
        for field in [pk, *concrete]
    )
    assignments = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in concrete)
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "  # noqa: S608 - names only
        f"FROM (SELECT {arrays}) AS v WHERE t.{quote(pk.column)} = v.{quote(pk.column)}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [[obj.pk for obj in objs], *columns])
