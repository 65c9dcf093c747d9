"""Inbox search on PostgreSQL: a tsvector per message, kept by a trigger, GIN-indexed.

The trigger reads the customer's locale through the conversation and indexes the text twice:
with `simple` (exact words in any language) and with the Snowball configuration of the
customer's language (so "remboursements" finds "remboursement"). The locale map is a frozen
copy of helpdesk.console.search.LANGUAGE_CONFIGS at the time of writing. SQLite: no-op."""

import django.contrib.postgres.search
from django.db import migrations

LANGUAGE_CONFIGS = {
    "en": "english",
    "es": "spanish",
    "fr": "french",
    "it": "italian",
    "nb": "norwegian",
    "no": "norwegian",
    "nn": "norwegian",
    "ar": "arabic",
    "de": "german",
    "pt": "portuguese",
    "nl": "dutch",
    "sv": "swedish",
    "da": "danish",
}

_CASES = "\n".join(
    f"      WHEN lower(c.locale) LIKE '{code}%' THEN '{cfg}'"
    for code, cfg in LANGUAGE_CONFIGS.items()
)

CREATE = f"""
CREATE OR REPLACE FUNCTION relay_message_search_document() RETURNS trigger AS $$
DECLARE
  cfg regconfig;
BEGIN
  SELECT (CASE
{_CASES}
      ELSE 'simple' END)::regconfig
    INTO cfg
    FROM conversations_conversation v
    JOIN customers_customer c ON c.id = v.customer_id
   WHERE v.id = NEW.conversation_id;
  NEW.search_document :=
    to_tsvector('simple'::regconfig, coalesce(NEW.text, ''))
    || to_tsvector(coalesce(cfg, 'simple'::regconfig), coalesce(NEW.text, ''));
  RETURN NEW;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS relay_message_search ON conversations_message;
CREATE TRIGGER relay_message_search
  BEFORE INSERT OR UPDATE OF text, conversation_id ON conversations_message
  FOR EACH ROW EXECUTE FUNCTION relay_message_search_document();

CREATE INDEX IF NOT EXISTS message_search ON conversations_message USING gin (search_document);

UPDATE conversations_message SET text = text WHERE kind IN ('message', 'note');
"""

DROP = """
DROP INDEX IF EXISTS message_search;
DROP TRIGGER IF EXISTS relay_message_search ON conversations_message;
DROP FUNCTION IF EXISTS relay_message_search_document();
"""


def _run(schema_editor, sql):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)  # no parameters: the `%` in LIKE patterns stays literal


def create(apps, schema_editor):
    _run(schema_editor, CREATE)


def drop(apps, schema_editor):
    _run(schema_editor, DROP)


class Migration(migrations.Migration):

    dependencies = [
        ("conversations", "0002_sla_due_sort"),
        ("customers", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="search_document",
            field=django.contrib.postgres.search.SearchVectorField(editable=False, null=True),
        ),
        migrations.RunPython(create, drop),
    ]
