"""Inbound throughput: how many customer messages per second the domain stores.

    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/relay_bench \
        .venv/bin/python bench/inbound.py --messages 2000

Creates its own database rows (new customers, continuing conversations, duplicates) in the
database DATABASE_URL names, which must be migrated; it never touches the network.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("DEBUG", "1")

import django

django.setup()

from helpdesk.conversations.services import InboundMessage, message_receive_inbound  # noqa: E402
from helpdesk.inboxes.models import Channel  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--customers", type=int, default=200)
    args = parser.parse_args()
    channel, _ = Channel.objects.get_or_create(name="bench sms", defaults={"kind": "sms"})
    run = uuid.uuid4().hex[:8]
    timings = []
    started = time.perf_counter()
    for i in range(args.messages):
        t0 = time.perf_counter()
        message_receive_inbound(
            channel=channel,
            inbound=InboundMessage(
                identity_kind="phone",
                identity_address=f"+1555{hash(run) % 1000:03d}{i % args.customers:04d}",
                text="Where is my order?",
                external_id=f"SM{run}{i}",
            ),
        )
        timings.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - started
    # Duplicates: the webhook retry path.
    t0 = time.perf_counter()
    for i in range(min(500, args.messages)):
        message_receive_inbound(
            channel=channel,
            inbound=InboundMessage(
                identity_kind="phone", identity_address="+15550000000", text="x",
                external_id=f"SM{run}{i}",
            ),
        )
    dup_elapsed = time.perf_counter() - t0
    timings.sort()
    print(f"database: {django.db.connection.vendor}")
    print(f"messages: {args.messages} over {args.customers} customers")
    print(f"throughput: {args.messages / elapsed:.0f} msg/s")
    print(
        f"latency ms: median {statistics.median(timings) * 1000:.2f}, "
        f"p95 {timings[int(len(timings) * 0.95)] * 1000:.2f}"
    )
    print(f"duplicate deliveries: {min(500, args.messages) / dup_elapsed:.0f} /s")


if __name__ == "__main__":
    main()
