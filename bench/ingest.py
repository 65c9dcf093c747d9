"""Ingest processing throughput: stored webhooks -> customers, conversations, messages.

Seeds `--rows` pending Twilio rows (over `--customers` senders, half of them new customers)
and times `ingest_drain` in this process, as the `ingest` process runs it. `--profile` prints
the top of a cProfile run.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/relay_bench \
        .venv/bin/python bench/ingest.py --rows 2000 --customers 400
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection, reset_queries  # noqa: E402

from channels_app.ingest.processor import ingest_drain  # noqa: E402
from channels_app.models import RawInbound  # noqa: E402
from helpdesk.inboxes.models import Channel  # noqa: E402

ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"


def seed(rows: int, customers: int) -> Channel:
    channel = Channel.objects.create(
        kind="sms",
        name=f"Bench SMS {uuid.uuid4().hex[:6]}",
        credentials={"account_sid": ACCOUNT_SID, "auth_token": "t", "sender": "+15005550006"},
    )
    prefix = f"+47{uuid.uuid4().int % 1000:03d}"
    batch = []
    for n in range(rows):
        sid = "SM" + uuid.uuid4().hex
        sender = f"{prefix}{n % customers:05d}"
        params = {
            "MessageSid": sid, "AccountSid": ACCOUNT_SID, "From": sender, "To": "+15005550006",
            "Body": f"Hello {n}, where is my order?", "NumMedia": "0",
        }
        batch.append(RawInbound(channel=channel, kind="twilio.message", external_id=sid,
                                order_key=f"{channel.pk}:{sender}", payload={"params": params}))
    RawInbound.objects.bulk_create(batch, batch_size=1000)
    return channel


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    seed(args.rows, args.customers)
    profiler = cProfile.Profile() if args.profile else None
    from django.conf import settings

    settings.DEBUG = True  # count queries
    reset_queries()
    started = time.perf_counter()
    if profiler:
        profiler.enable()
    done = ingest_drain(limit=args.batch)
    if profiler:
        profiler.disable()
    elapsed = time.perf_counter() - started
    queries = len(connection.queries)
    print(f"{connection.vendor}: {done} rows in {elapsed:.2f}s = {done / elapsed:.0f} msg/s, "
          f"{queries / max(done, 1):.1f} queries per message")
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(35)


if __name__ == "__main__":
    main()
