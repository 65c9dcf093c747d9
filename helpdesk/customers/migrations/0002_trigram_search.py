"""Inbox search by customer name or contact address on PostgreSQL: trigram GIN indexes that
serve Django's `icontains` (`UPPER(col::text) LIKE UPPER('%…%')`). Needs the pg_trgm extension
(a trusted extension since PostgreSQL 13); where it cannot be created, search still works,
unindexed, and the migration says so. SQLite: no-op."""

import logging

from django.db import migrations, transaction

logger = logging.getLogger(__name__)

CREATE = [
    "CREATE INDEX IF NOT EXISTS customer_name_trgm ON customers_customer "
    "USING gin ((UPPER(name::text)) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS identity_address_trgm ON customers_contactidentity "
    "USING gin ((UPPER(address::text)) gin_trgm_ops)",
]
DROP = [
    "DROP INDEX IF EXISTS customer_name_trgm",
    "DROP INDEX IF EXISTS identity_address_trgm",
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    try:
        with transaction.atomic(using=schema_editor.connection.alias):
            schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception as exc:  # no permission: keep working without the indexes
        logger.warning("pg_trgm unavailable (%s); customer search stays unindexed", exc)
        return
    for sql in CREATE:
        schema_editor.execute(sql)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for sql in DROP:
            schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ("customers", "0001_initial"),
    ]

    operations = [migrations.RunPython(create, drop)]
