"""Inbox page and search at scale: 100 000 conversations and 1 000 000 messages on one machine.

    createdb -h 127.0.0.1 -U postgres relay_search_bench
    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/relay_search_bench \
        .venv/bin/python manage.py migrate
    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/relay_search_bench \
        .venv/bin/python bench/inbox.py --conversations 100000 --messages 1000000

Seeds (PostgreSQL only) customers, addresses, conversations and messages on one bench channel
with `INSERT … SELECT` from `generate_series` and the sample texts (COPY-ed into a temporary
table), so a million messages take a few minutes; the search triggers fill each message's
document and each conversation's as they do in production. Conversations: three in four open,
one in ten assigned to the bench agent, ten messages each (customer and agent turns, a private
note, an activity line) in the six languages of ../shared/data/sample_messages.jsonl (or the
bundled demo samples), message ids in time order. Each conversation's first message ends with
a reference ("Ref: BX004242") that no other message has: the rare word. One conversation in 50
asks about a "voucher": a word too common to list by id and too sparse to find by walking far.

Then times what an agent waits for, through the console's selectors (page size 25) and, for
searches, the whole console page: p50 and p95 of `--runs` runs after two warm-ups, with the
query count. `--no-seed` reuses the rows of an earlier run; a new seed first deletes them.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from helpdesk.agents.models import AgentProfile  # noqa: E402
from helpdesk.console.selectors import (  # noqa: E402
    InboxFilters,
    inbox_page,
    nav_breakdown,
    nav_counts,
)
from helpdesk.conversations.models import Conversation  # noqa: E402
from helpdesk.inboxes.models import Channel  # noqa: E402

BENCH_CHANNEL = "bench inbox"
MESSAGES_PER_CONVERSATION_MAX = 50
ROOT = Path(__file__).resolve().parent.parent
SAMPLES = [
    ROOT.parent / "shared/data/sample_messages.jsonl",
    ROOT / "helpdesk/demo/data/sample_messages.jsonl",
]
RARE_CONVERSATION = 4242  # its reference is the rare word; its address the address search


def samples() -> list[tuple[str, str]]:
    path = next(p for p in SAMPLES if p.exists())
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [(r["lang"], r["text"]) for r in rows]


def reference(n: int) -> str:
    return f"BX{n:06d}"


def _delete_old(cursor, channel_id: int) -> None:
    cursor.execute(
        "CREATE TEMP TABLE bench_old ON COMMIT DROP AS "
        "SELECT id, customer_id FROM conversations_conversation WHERE channel_id = %s",
        [channel_id],
    )
    for table in (
        "conversations_conversation_labels",
        "conversations_conversationread",
        "notifications_notification",
        "sla_acknowledgement",
        "sla_slaevent",
        "conversations_conversationsearch",
        "conversations_message",
    ):
        cursor.execute(
            f"DELETE FROM {table} WHERE conversation_id IN (SELECT id FROM bench_old)"  # noqa: S608
        )
    cursor.execute("DELETE FROM conversations_conversation WHERE channel_id = %s", [channel_id])
    cursor.execute(
        "DELETE FROM customers_contactidentity WHERE customer_id IN "
        "(SELECT customer_id FROM bench_old)"
    )
    cursor.execute(
        "DELETE FROM customers_customer WHERE id IN (SELECT customer_id FROM bench_old) "
        "OR name LIKE 'bench inbox %%'"
    )


def seed(conversations: int, messages: int, agent_id: int) -> None:
    """Seed on PostgreSQL in one transaction; see the module docstring for the shape."""
    per = max(2, min(MESSAGES_PER_CONVERSATION_MAX, round(messages / conversations)))
    channel, _ = Channel.objects.get_or_create(name=BENCH_CHANNEL, defaults={"kind": "email"})
    texts = samples()
    t0 = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        _delete_old(cursor, channel.pk)
        print(f"deleted earlier rows in {time.perf_counter() - t0:.1f} s", flush=True)
        cursor.execute("CREATE TEMP TABLE bench_text (n int, lang text, body text) ON COMMIT DROP")
        buffer = io.StringIO()
        for n, (lang, text) in enumerate(texts):
            escaped = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
            buffer.write(f"{n}\t{lang}\t{escaped}\n")
        with cursor.cursor.copy("COPY bench_text (n, lang, body) FROM STDIN") as copy:
            copy.write(buffer.getvalue())
        # g = 0 is the conversation with the newest activity; rows are inserted oldest first so
        # ids grow with time, as in production.
        cursor.execute(
            """
            INSERT INTO customers_customer
                (name, locale, time_zone, custom_attributes, created_at, updated_at)
            SELECT 'bench inbox ' || g, t.lang, '', '{}', now(), now()
              FROM generate_series(%(n)s - 1, 0, -1) g
              JOIN bench_text t ON t.n = g %% %(texts)s
             ORDER BY g DESC
            """,
            {"n": conversations, "texts": len(texts)},
        )
        cursor.execute(
            """
            CREATE TEMP TABLE bench_customer ON COMMIT DROP AS
            SELECT id, split_part(name, ' ', 3)::int AS g FROM customers_customer
             WHERE name LIKE 'bench inbox %%'
            """
        )
        cursor.execute(
            """
            INSERT INTO customers_contactidentity (kind, address, verified, created_at, customer_id)
            SELECT 'email', 'shopper' || g || '@bench.example', false, now(), id
              FROM bench_customer ORDER BY g DESC
            """
        )
        cursor.execute(
            """
            INSERT INTO conversations_conversation
                (status, priority, subject, custom_attributes, created_at, updated_at,
                 last_activity_at, last_inbound_at, last_outbound_at, waiting_since, resolved_at,
                 sla_state, channel_id, customer_id, assignee_id, last_inbound_message_id)
            SELECT CASE WHEN g %% 4 = 3 THEN 'resolved' ELSE 'open' END, 0, '', '{}',
                   a - interval '1 minute' * (%(per)s - 1) * 5, a, a, a, a,
                   CASE WHEN g %% 4 <> 3 AND g %% 2 = 0 THEN a END,
                   CASE WHEN g %% 4 = 3 THEN a END,
                   '{}', %(channel)s, c.id,
                   CASE WHEN g %% 10 = 0 THEN %(agent)s END, 0
              FROM (SELECT id, g, now() - interval '30 seconds' * g AS a FROM bench_customer) c
             ORDER BY g DESC
            """,
            {"per": per, "channel": channel.pk, "agent": agent_id},
        )
        cursor.execute(
            """
            CREATE TEMP TABLE bench_conversation ON COMMIT DROP AS
            SELECT v.id, c.g, v.last_activity_at AS a FROM conversations_conversation v
              JOIN bench_customer c ON c.id = v.customer_id
            """
        )
        # Message k of conversation g: k = per - 1 an activity line, k = per - 2 a private note,
        # odd k an agent reply, even k the customer; created 5 minutes apart, the last at `a`.
        cursor.execute(
            """
            INSERT INTO conversations_message
                (direction, kind, sender_type, text, content_attributes, delivery_status,
                 error_code, error_message, created_at, channel_id, conversation_id)
            SELECT CASE WHEN k >= %(per)s - 2 THEN 'internal'
                        WHEN k %% 2 = 1 THEN 'outbound' ELSE 'inbound' END,
                   CASE WHEN k = %(per)s - 1 THEN 'activity'
                        WHEN k = %(per)s - 2 THEN 'note' ELSE 'message' END,
                   CASE WHEN k = %(per)s - 1 THEN 'system'
                        WHEN k %% 2 = 1 OR k = %(per)s - 2 THEN 'agent' ELSE 'customer' END,
                   CASE WHEN k = %(per)s - 1 THEN 'Assigned to Bench'
                        WHEN k = 0 THEN t.body || E'\n\nRef: BX' || lpad(v.g::text, 6, '0')
                        WHEN k = 2 AND v.g %% 50 = 7 THEN t.body || ' Can I pay with a voucher?'
                        ELSE t.body END,
                   '{}', CASE WHEN k %% 2 = 1 AND k < %(per)s - 2 THEN 'delivered' ELSE '' END,
                   '', '', v.a - interval '5 minutes' * (%(per)s - 1 - k), %(channel)s, v.id
              FROM bench_conversation v
             CROSS JOIN generate_series(0, %(per)s - 1) k
              JOIN bench_text t ON t.n = (v.g * 7 + k * 3) %% %(texts)s
             ORDER BY v.a - interval '5 minutes' * (%(per)s - 1 - k), v.id
            """,
            {"per": per, "channel": channel.pk, "texts": len(texts)},
        )
        cursor.execute(
            """
            UPDATE conversations_conversation v SET last_inbound_message_id = m.last
              FROM (SELECT conversation_id, max(id) AS last FROM conversations_message
                     WHERE channel_id = %s AND direction = 'inbound' GROUP BY 1) m
             WHERE v.id = m.conversation_id
            """,
            [channel.pk],
        )
    with connection.cursor() as cursor:
        for table in (
            "customers_customer",
            "customers_contactidentity",
            "conversations_conversation",
            "conversations_message",
            "conversations_conversationsearch",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
    print(
        f"seeded {conversations} conversations, {conversations * per} messages "
        f"in {time.perf_counter() - t0:.1f} s",
        flush=True,
    )


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def measure(label: str, call: Callable[[], object], runs: int) -> None:
    call()  # warm-up: caches, connection, plans
    call()
    times, queries = [], 0
    for _ in range(runs):
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            call()
            times.append((time.perf_counter() - t0) * 1000)
        queries = len(ctx.captured_queries)
    print(
        f"| {label} | {statistics.median(times):.0f} ms | {_percentile(times, 0.95):.0f} ms "
        f"| {queries} |",
        flush=True,
    )


def main() -> None:
    from django.contrib.auth import get_user_model
    from django.test import Client

    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--no-seed", action="store_true")
    args = parser.parse_args()
    if not settings.DATABASE_IS_POSTGRES:
        sys.exit("bench/inbox.py seeds with PostgreSQL's generate_series: set DATABASE_URL.")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    user, _ = get_user_model().objects.get_or_create(username="bench-agent")
    AgentProfile.objects.get_or_create(user=user, defaults={"display_name": "Bench"})
    if not args.no_seed:
        seed(args.conversations, args.messages, user.pk)
    client = Client()
    client.force_login(user)
    logging.getLogger("relay.access").setLevel(logging.WARNING)  # one line per request

    def page(filters: InboxFilters, number: int = 1) -> Callable[[], object]:
        return lambda: list(inbox_page(user, filters, page=number, page_size=25).object_list)

    def console(query: str) -> Callable[[], object]:
        def call() -> None:
            response = client.get("/", {"q": query})
            assert response.status_code == 200, response.status_code

        return call

    rare = reference(RARE_CONVERSATION)
    address = f"shopper{RARE_CONVERSATION}@bench.example"
    print(
        f"database: {connection.vendor}, conversations: {Conversation.objects.count()}, "
        f"messages: ~{_count('conversations_message')}, runs: {args.runs}"
    )
    print("| What | p50 | p95 | Queries |\n|---|---|---|---|")
    runs = args.runs
    measure("Inbox, first page (newest activity)", page(InboxFilters(view="all")), runs)
    measure("Inbox, page 200", page(InboxFilters(view="all"), 200), runs)
    measure("Inbox, longest waiting", page(InboxFilters(view="all", sort="waiting")), runs)
    measure("Navigation counts (Mine / Unassigned / All)", lambda: nav_counts(user), runs)
    measure("Navigation team, channel and label views", lambda: nav_breakdown(user), runs)
    for label, query in (
        ('common word ("order")', "order"),
        ('less common word ("retour")', "retour"),
        ('sparse word ("voucher", 1 in 50 conversations)', "voucher"),
        (f'rare word ("{rare}", one conversation)', rare),
        ('no match ("zyxwvut")', "zyxwvut"),
        ("customer address", address),
    ):
        measure(f"Search: {label}", page(InboxFilters(view="all", query=query)), runs)
    measure(
        'Search any status: common word ("order")',
        page(InboxFilters(view="all", status=None, query="order")),
        runs,
    )
    measure(
        'Search mine: common word ("order")', page(InboxFilters(view="mine", query="order")), runs
    )
    measure(
        'Search: common word ("order"), page 5',
        page(InboxFilters(view="all", query="order"), 5),
        runs,
    )
    measure("Console page, no search", console(""), runs)
    for label, query in (
        ("common word", "order"),
        ("rare word", rare),
        ("customer address", address),
    ):
        measure(f"Console page, search: {label}", console(query), runs)


def _count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT reltuples::bigint FROM pg_class WHERE relname = '{table}'")  # noqa: S608
        return cursor.fetchone()[0]


if __name__ == "__main__":
    main()
