"""Inbox search on PostgreSQL, per conversation: one row of words per conversation.

Searching the per-message documents (0003) finds every matching message, and a common word
matches hundreds of thousands: the inbox then collapsed them into conversations and counted
and sorted them all before showing 25. This table holds, per conversation, the union of the
words of its messages and private notes (positions stripped), so the inbox can walk its own
newest-first order and test one row per conversation, or read the GIN index when a word is
rare, and count matching conversations without DISTINCT.

Kept by triggers on conversations_message (the per-message document is built first, by the
BEFORE trigger of 0003):
- insert: adds the new message's words (an upsert). It locks the conversation row first, the
  order the reply and note services use, so an inbound message and a reply on the same
  conversation cannot deadlock on the two rows.
- an edit of text or kind, or a move to another conversation: rebuilds the rows concerned from
  the messages they have left; a delete (one statement, any number of rows) does the same, so
  erased text stops matching.
The backfill reads every message once (about a minute per million messages). SQLite: no-op.
"""

import django.contrib.postgres.search
import django.db.models.deletion
from django.db import migrations, models

CREATE = """
CREATE OR REPLACE FUNCTION relay_conversation_search_rebuild(ids bigint[]) RETURNS void AS $$
BEGIN
  PERFORM 1 FROM conversations_conversation WHERE id = ANY(ids) ORDER BY id
    FOR NO KEY UPDATE;
  DELETE FROM conversations_conversationsearch WHERE conversation_id = ANY(ids);
  INSERT INTO conversations_conversationsearch (conversation_id, document)
  SELECT m.conversation_id, array_to_tsvector(array_agg(DISTINCT w.lexeme))
    FROM conversations_message m
   CROSS JOIN LATERAL unnest(m.search_document) w
   WHERE m.conversation_id = ANY(ids) AND m.kind IN ('message', 'note')
   GROUP BY m.conversation_id;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION relay_conversation_search_add() RETURNS trigger AS $$
BEGIN
  IF NEW.kind NOT IN ('message', 'note') OR NEW.search_document IS NULL
     OR length(NEW.search_document) = 0 THEN
    RETURN NULL;
  END IF;
  PERFORM 1 FROM conversations_conversation WHERE id = NEW.conversation_id FOR NO KEY UPDATE;
  INSERT INTO conversations_conversationsearch AS s (conversation_id, document)
  VALUES (NEW.conversation_id, strip(NEW.search_document))
  ON CONFLICT (conversation_id) DO UPDATE SET document = s.document || EXCLUDED.document;
  RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION relay_conversation_search_changed() RETURNS trigger AS $$
BEGIN
  PERFORM relay_conversation_search_rebuild(
    ARRAY(SELECT DISTINCT unnest(ARRAY[OLD.conversation_id, NEW.conversation_id]))
  );
  RETURN NULL;
END
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION relay_conversation_search_deleted() RETURNS trigger AS $$
BEGIN
  PERFORM relay_conversation_search_rebuild(
    ARRAY(SELECT DISTINCT conversation_id FROM gone WHERE kind IN ('message', 'note'))
  );
  RETURN NULL;
END
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS relay_conversation_search_add ON conversations_message;
CREATE TRIGGER relay_conversation_search_add
  AFTER INSERT ON conversations_message
  FOR EACH ROW EXECUTE FUNCTION relay_conversation_search_add();

DROP TRIGGER IF EXISTS relay_conversation_search_changed ON conversations_message;
CREATE TRIGGER relay_conversation_search_changed
  AFTER UPDATE OF text, kind, conversation_id ON conversations_message
  FOR EACH ROW
  WHEN (OLD.text IS DISTINCT FROM NEW.text OR OLD.kind IS DISTINCT FROM NEW.kind
        OR OLD.conversation_id IS DISTINCT FROM NEW.conversation_id)
  EXECUTE FUNCTION relay_conversation_search_changed();

DROP TRIGGER IF EXISTS relay_conversation_search_deleted ON conversations_message;
CREATE TRIGGER relay_conversation_search_deleted
  AFTER DELETE ON conversations_message
  REFERENCING OLD TABLE AS gone
  FOR EACH STATEMENT EXECUTE FUNCTION relay_conversation_search_deleted();

INSERT INTO conversations_conversationsearch (conversation_id, document)
SELECT m.conversation_id, array_to_tsvector(array_agg(DISTINCT w.lexeme))
  FROM conversations_message m
 CROSS JOIN LATERAL unnest(m.search_document) w
 WHERE m.kind IN ('message', 'note')
 GROUP BY m.conversation_id
ON CONFLICT (conversation_id) DO NOTHING;

CREATE INDEX IF NOT EXISTS conversation_search
  ON conversations_conversationsearch USING gin (document);
"""

DROP = """
DROP TRIGGER IF EXISTS relay_conversation_search_add ON conversations_message;
DROP TRIGGER IF EXISTS relay_conversation_search_changed ON conversations_message;
DROP TRIGGER IF EXISTS relay_conversation_search_deleted ON conversations_message;
DROP FUNCTION IF EXISTS relay_conversation_search_add();
DROP FUNCTION IF EXISTS relay_conversation_search_changed();
DROP FUNCTION IF EXISTS relay_conversation_search_deleted();
DROP FUNCTION IF EXISTS relay_conversation_search_rebuild(bigint[]);
DROP INDEX IF EXISTS conversation_search;
"""


def _run(schema_editor, sql):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(sql)


def create(apps, schema_editor):
    _run(schema_editor, CREATE)


def drop(apps, schema_editor):
    _run(schema_editor, DROP)


class Migration(migrations.Migration):

    dependencies = [
        ("conversations", "0005_created_at_from_the_source"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConversationSearch",
            fields=[
                (
                    "conversation",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search",
                        serialize=False,
                        to="conversations.conversation",
                    ),
                ),
                (
                    "document",
                    django.contrib.postgres.search.SearchVectorField(editable=False),
                ),
            ],
        ),
        migrations.RunPython(create, drop),
    ]
