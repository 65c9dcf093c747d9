"""Database connections outside Django's request cycle.

`conninfo()` builds direct psycopg connections (the durable-accept pool, LISTEN/NOTIFY) from the
one DATABASES setting, so they always reach the same database the same way (TLS included).
`release_connection()` hands back the connection that ORM code running in an executor thread
opened, since no request finishes there to close it. `update_rows()` writes many rows of one
model in one statement.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Model
from psycopg import pq
from psycopg.conninfo import make_conninfo


@functools.cache
def libpq_keywords() -> frozenset[str]:
    """Every connection parameter this libpq accepts (sslmode, sslrootcert, options, ...)."""
    return frozenset(option.keyword.decode() for option in pq.Conninfo.get_defaults())


def _libpq_value(value: Any) -> str:
    if isinstance(value, bool):  # dj-database-url reads "true"/"false" as booleans
        return "1" if value else "0"
    return str(value)


def conninfo(*, extra_options: str = "") -> str:
    """libpq connection string for the default database (PostgreSQL only): its name, user,
    host and port, and every libpq parameter among its OPTIONS (TLS settings, timeouts,
    startup options: what DATABASE_URL's query string said, plus ours). Django's own OPTIONS
    (pool, isolation_level, ...) are not libpq's and stay out. `extra_options` (e.g.
    "-c statement_timeout=5000") go before the configured startup options, which win."""
    db = connection.settings_dict
    known = libpq_keywords()
    params: dict[str, str] = {"application_name": "relay"}
    params.update(
        {
            key: _libpq_value(value)
            for key, value in (db.get("OPTIONS") or {}).items()
            if key in known and value is not None
        }
    )
    params.update(
        {
            key: str(value)
            for key, value in {
                "dbname": db["NAME"],
                "user": db.get("USER"),
                "password": db.get("PASSWORD"),
                "host": db.get("HOST"),
                "port": db.get("PORT"),
            }.items()
            if value
        }
    )
    if extra_options:
        params["options"] = f"{extra_options} {params.get('options', '')}".strip()
    return make_conninfo(**params)


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
