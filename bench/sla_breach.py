"""SLA breach job: how long one run takes with 100 000 open conversations.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/relay_bench \
        .venv/bin/python manage.py migrate
    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/relay_bench \
        .venv/bin/python bench/sla_breach.py --conversations 100000 --due 1000

Seeds (bulk_create) open conversations on one bench channel with deadlines spread over the
next week, of which `--due` have a first-response deadline that just passed; then times
(1) the due query alone with EXPLAIN ANALYZE, (2) one `check_deadlines` run that records the
breaches, (3) a second run (nothing left to do). Deletes its rows on the next start.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from helpdesk.conversations.models import Conversation  # noqa: E402
from helpdesk.customers.models import Customer  # noqa: E402
from helpdesk.inboxes.models import Channel  # noqa: E402
from helpdesk.sla.breaches import due_conversations  # noqa: E402
from helpdesk.sla.models import SLAEvent, SLAPolicy  # noqa: E402
from helpdesk.sla.tasks import check_deadlines  # noqa: E402

BENCH_CHANNEL = "bench sla"


def seed(total: int, due: int) -> None:
    channel, _ = Channel.objects.get_or_create(name=BENCH_CHANNEL, defaults={"kind": "sms"})
    old = Conversation.objects.filter(channel=channel)
    SLAEvent.objects.filter(conversation__in=old).delete()
    old.delete()
    policy, _ = SLAPolicy.objects.get_or_create(
        name="bench 24/7", defaults={"first_response_minutes": 60, "resolution_minutes": 600}
    )
    customer, _ = Customer.objects.get_or_create(name="bench customer")
    now = timezone.now()
    rows = []
    for i in range(total):
        if i < due:
            first_due = now - timedelta(seconds=30)
        else:
            first_due = now + timedelta(minutes=15 + (i % 10_000))  # spread over a week
        start = first_due - timedelta(minutes=60)
        entry = {
            "cycle": 0,
            "since": start.isoformat(),
            "charged": 0.0,
            "due": first_due.isoformat(),
            "warn": (start + timedelta(minutes=48)).isoformat(),
            "warned": i < due,
            "breached": False,
        }
        rows.append(
            Conversation(
                customer=customer,
                channel=channel,
                last_activity_at=start,
                waiting_since=start,
                sla_policy=policy,
                first_response_due_at=first_due,
                sla_next_due_at=first_due,
                sla_unrecorded_due_at=first_due,
                sla_warn_at=None if i < due else start + timedelta(minutes=48),
                sla_state={"targets": {"first_response": entry}, "cycles": {"first_response": 0}},
            )
        )
    t0 = time.perf_counter()
    Conversation.objects.bulk_create(rows, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE conversations_conversation")
    print(f"seeded {total} open conversations ({due} due) in {time.perf_counter() - t0:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conversations", type=int, default=100_000)
    parser.add_argument("--due", type=int, default=1000)
    args = parser.parse_args()
    seed(args.conversations, args.due)
    now = timezone.now()
    plan = due_conversations(now=now).values("pk").explain(analyze=True)
    print("due query plan:\n" + plan)
    t0 = time.perf_counter()
    recorded = check_deadlines(now=now)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    again = check_deadlines(now=now)
    second = time.perf_counter() - t0
    print(
        f"run 1: {recorded} breaches recorded in {first:.2f} s "
        f"({first / max(recorded, 1) * 1000:.1f} ms each)"
    )
    print(f"run 2: {again} recorded in {second * 1000:.1f} ms (nothing due)")


if __name__ == "__main__":
    main()
