"""Inbox page and search at scale: 100 000 conversations, 300 000 messages, 100 agents' worth of
data on one machine.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/relay_bench \
        .venv/bin/python manage.py migrate
    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/relay_bench \
        .venv/bin/python bench/inbox.py --conversations 100000

Seeds (bulk_create; the search trigger fills each message's document on PostgreSQL) open
conversations with three messages each in six languages from ../shared/data or the bundled
demo samples, then times, as an agent sees them: the first inbox page (newest activity), a
late page, the "longest waiting" sort, the navigation counts, and searches for a common word, a
rare word, and a customer address. Each figure is the median of 5 runs after one warm-up, with
the page's query count. Deletes its rows on the next start.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django

django.setup()

from django.db import connection, reset_queries  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from helpdesk.agents.models import AgentProfile  # noqa: E402
from helpdesk.console.selectors import (  # noqa: E402
    InboxFilters,
    inbox_page,
    nav_breakdown,
    nav_counts,
)
from helpdesk.conversations.models import Conversation, Message  # noqa: E402
from helpdesk.customers.models import ContactIdentity, Customer  # noqa: E402
from helpdesk.inboxes.models import Channel  # noqa: E402

BENCH_CHANNEL = "bench inbox"
ROOT = Path(__file__).resolve().parent.parent
SAMPLES = [
    ROOT.parent / "shared/data/sample_messages.jsonl",
    ROOT / "helpdesk/demo/data/sample_messages.jsonl",
]


def samples() -> list[tuple[str, str]]:
    path = next(p for p in SAMPLES if p.exists())
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [(r["lang"], r["text"]) for r in rows]


def seed(total: int) -> None:
    from django.contrib.auth import get_user_model

    channel, _ = Channel.objects.get_or_create(name=BENCH_CHANNEL, defaults={"kind": "email"})
    old = Conversation.objects.filter(channel=channel)
    Message.objects.filter(conversation__in=old).delete()
    customers = Customer.objects.filter(conversations__in=old)
    old.delete()
    ContactIdentity.objects.filter(customer__in=customers).delete()
    Customer.objects.filter(name__startswith="bench inbox ").delete()
    texts = samples()
    now = timezone.now()
    t0 = time.perf_counter()
    batch = 5000
    for start in range(0, total, batch):
        size = min(batch, total - start)
        made = Customer.objects.bulk_create(
            Customer(name=f"bench inbox {start + i}", locale=texts[(start + i) % len(texts)][0])
            for i in range(size)
        )
        ContactIdentity.objects.bulk_create(
            ContactIdentity(
                customer=c, kind="email", address=f"shopper{start + i}@bench.example"
            )
            for i, c in enumerate(made)
        )
        conversations = Conversation.objects.bulk_create(
            Conversation(
                customer=c,
                channel=channel,
                last_activity_at=now - timedelta(seconds=start + i),
                waiting_since=now - timedelta(minutes=(start + i) % 5000),
            )
            for i, c in enumerate(made)
        )
        Message.objects.bulk_create(
            Message(
                conversation=conv,
                channel=channel,
                direction="inbound" if k != 1 else "outbound",
                kind="message",
                sender_type="customer" if k != 1 else "agent",
                text=texts[(start + i * 3 + k) % len(texts)][1],
            )
            for i, conv in enumerate(conversations)
            for k in range(3)
        )
    with connection.cursor() as cursor:
        for table in ("conversations_conversation", "conversations_message", "customers_customer"):
            cursor.execute(f"ANALYZE {table}")
    print(f"seeded {total} conversations, {total * 3} messages in {time.perf_counter() - t0:.1f} s")
    user, _ = get_user_model().objects.get_or_create(username="bench-agent")
    AgentProfile.objects.get_or_create(user=user, defaults={"display_name": "Bench"})


def measure(label: str, call: Callable[[], object]) -> None:
    call()  # warm-up
    times, queries = [], 0
    for _ in range(5):
        reset_queries()
        with CaptureQueriesContext(connection) as ctx:
            t0 = time.perf_counter()
            call()
            times.append((time.perf_counter() - t0) * 1000)
        queries = len(ctx.captured_queries)
    print(f"| {label} | {statistics.median(times):.1f} ms | {queries} |")


def main() -> None:
    from django.contrib.auth import get_user_model

    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--no-seed", action="store_true")
    args = parser.parse_args()
    if not args.no_seed:
        seed(args.conversations)
    agent = get_user_model().objects.get(username="bench-agent")

    def page(filters: InboxFilters, number: int = 1) -> Callable[[], object]:
        return lambda: list(inbox_page(agent, filters, page=number, page_size=25).object_list)

    print(f"database: {connection.vendor}, conversations: {Conversation.objects.count()}")
    print("| What | Median | Queries |\n|---|---|---|")
    measure("Inbox, first page (newest activity)", page(InboxFilters(view="all")))
    measure("Inbox, page 200", page(InboxFilters(view="all"), 200))
    measure("Inbox, longest waiting", page(InboxFilters(view="all", sort="waiting")))
    measure("Navigation counts (Mine / Unassigned / All)", lambda: nav_counts(agent))
    measure("Navigation team, channel and label views", lambda: nav_breakdown(agent))
    measure("Search: common word (\"order\")", page(InboxFilters(view="all", query="order")))
    measure("Search: rare word (\"retour\")", page(InboxFilters(view="all", query="retour")))
    measure(
        "Search: customer address",
        page(InboxFilters(view="all", query="shopper4242@bench.example")),
    )


if __name__ == "__main__":
    main()
