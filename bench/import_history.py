"""Bulk import throughput: `history_import` (what `manage.py import_history` runs) on a
generated shop history, then the same file again (everything skipped).

Generates a JSON Lines file shaped like a real export: customers with email addresses and
some phone and WhatsApp numbers in six languages, 2-3 conversations each (most resolved, some
open, pending or snoozed; agents, teams, labels), a few messages each alternating customer and
agent with notes, texts from the sample messages with order numbers varied, provider ids on
half of them. References and addresses are unique per run, so runs on one database do not
meet. `--profile` prints the top of a cProfile run; on a local PostgreSQL the database
backend's CPU time is read from /proc.

    createdb -h 127.0.0.1 -U postgres relay_import_bench
    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/relay_import_bench \\
        .venv/bin/python manage.py migrate
    DEBUG=1 DATABASE_URL=postgres://postgres@127.0.0.1:5432/relay_import_bench \\
        .venv/bin/python bench/import_history.py --customers 20000 --conversations 50000 \\
        --messages 200000
    dropdb -h 127.0.0.1 -U postgres relay_import_bench
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import random
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Model  # noqa: E402

from helpdesk.agents.models import Team  # noqa: E402
from helpdesk.conversations.models import Conversation, Message  # noqa: E402
from helpdesk.core.models import RealtimeEvent  # noqa: E402
from helpdesk.customers.models import ContactIdentity, Customer  # noqa: E402
from helpdesk.imports.models import ImportedConversation, ImportedCustomer  # noqa: E402
from helpdesk.imports.services import DEFAULT_CHUNK_SIZE, history_import  # noqa: E402
from helpdesk.inboxes.models import Channel  # noqa: E402
from helpdesk.sla.models import SLAPolicy  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "helpdesk" / "demo" / "data" / "sample_messages.jsonl"
AGENTS = ["amina", "bruno", "chiara", "dag", "elena"]
TEAMS = ["Support", "Returns"]
LABELS = ["refund", "late-delivery", "exchange", "vip", "damaged", "billing", "sizing", "b2b"]
NAMES = {
    "en": ["Ada Byrne", "Noah Price", "Maya Cole", "Liam Shaw"],
    "fr": ["Léa Moreau", "Hugo Bernard", "Chloé Petit", "Louis Garnier"],
    "es": ["Lucía García", "Mateo López", "Sofía Ruiz", "Pablo Díaz"],
    "it": ["Giulia Rossi", "Marco Bianchi", "Sara Romano", "Luca Greco"],
    "nb": ["Kari Nordmann", "Ola Hansen", "Ingrid Berg", "Lars Dahl"],
    "ar": ["ليلى حداد", "عمر خليل", "سارة منصور", "يوسف ناصر"],
}
TABLES: list[type[Model]] = [
    Customer,
    ContactIdentity,
    ImportedCustomer,
    Conversation,
    Conversation.labels.through,
    ImportedConversation,
    Message,
    RealtimeEvent,
]
ORDER = re.compile(r"\d{4,}")


def samples() -> dict[str, list[str]]:
    by_lang: dict[str, list[str]] = {}
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        by_lang.setdefault(item["lang"], []).append(item["text"])
    return by_lang


def split(total: int, parts: int, rng: random.Random, spread: int) -> list[int]:
    """`total` items over `parts` holders, each at least one, some more than others."""
    sizes = [1] * parts
    busy = parts // spread + 1  # half the extra items go to this many holders
    for _ in range(total - parts):
        sizes[rng.randrange(parts) if rng.random() < 0.5 else rng.randrange(busy)] += 1
    rng.shuffle(sizes)
    return sizes


def generate(args: argparse.Namespace, prefix: str) -> Iterator[list[dict[str, Any]]]:
    """Each customer's lines: the customer, then each conversation and its messages."""
    rng = random.Random(args.seed)  # noqa: S311 - sample data, not secrets
    texts = samples()
    langs = sorted(texts)
    conversations_of = split(args.conversations, args.customers, rng, 4)
    messages_of = iter(split(args.messages, args.conversations, rng, 3))
    phone_base = (int(prefix, 16) % 10**7) * 10**6  # numbers of their own per run
    start = datetime(2024, 1, 1, tzinfo=UTC)
    now = datetime.now(UTC)
    for n in range(args.customers):
        lang = langs[n % len(langs)]
        identities = [{"kind": "email", "address": f"{prefix}.shopper{n}@example.test"}]
        if rng.random() < 0.4:
            identities.append({"kind": "phone", "address": f"+47 {phone_base + 2 * n}"})
        if rng.random() < 0.2:
            identities.append({"kind": "whatsapp", "address": f"+47{phone_base + 2 * n + 1}"})
        lines: list[dict[str, Any]] = [
            {
                "type": "customer",
                "customer_ref": f"{prefix}-c{n}",
                "name": rng.choice(NAMES[lang]),
                "locale": lang,
                "identities": identities,
                "attributes": {"tier": rng.choice(["standard", "gold"])},
            }
        ]
        for c in range(conversations_of[n]):
            ref = f"{prefix}-t{n}-{c}"
            at = start + timedelta(minutes=rng.randrange(60 * 24 * 600))
            roll = rng.random()
            status = (
                "open" if roll < 0.05 else "pending" if roll < 0.07 else
                "snoozed" if roll < 0.08 else "resolved"
            )
            conversation: dict[str, Any] = {
                "type": "conversation",
                "conversation_ref": ref,
                "customer_ref": f"{prefix}-c{n}",
                "status": status,
                "priority": rng.choice(["none", "none", "low", "medium", "high"]),
                "labels": rng.sample(LABELS, rng.randrange(3)),
                "subject": f"Order {rng.randrange(10000, 99999)}",
                "created_at": at.isoformat(),
            }
            if rng.random() < 0.7:
                conversation["assignee"] = rng.choice(AGENTS)
            if rng.random() < 0.5:
                conversation["team"] = rng.choice(TEAMS)
            if status == "snoozed":
                conversation["snoozed_until"] = (now + timedelta(days=3)).isoformat()
            lines.append(conversation)
            for m in range(next(messages_of)):
                at += timedelta(minutes=rng.randrange(1, 600))
                kind = "note" if rng.random() < 0.08 else ("inbound", "outbound")[m % 2]
                text = ORDER.sub(
                    lambda _: str(rng.randrange(10000, 99999)), rng.choice(texts[lang])
                )
                message: dict[str, Any] = {
                    "type": "message",
                    "message_ref": f"m{m}",
                    "conversation_ref": ref,
                    "direction": kind,
                    "text": text,
                    "created_at": min(at, now).isoformat(),
                }
                if kind != "inbound":
                    message["sender"] = rng.choice(AGENTS)
                if kind != "note" and rng.random() < 0.5:
                    message["provider_id"] = f"SM{uuid.UUID(int=rng.getrandbits(128)).hex}"
                if kind == "outbound":
                    message["delivery_status"] = "delivered"
                lines.append(message)
        yield lines


def write_file(args: argparse.Namespace, prefix: str, path: Path) -> int:
    """The file in the chosen layout; returns its number of lines."""
    count = 0
    with path.open("w", encoding="utf-8") as out:
        if args.layout == "grouped":
            for lines in generate(args, prefix):
                for line in lines:
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
                    count += 1
            return count
        for wanted in ("customer", "conversation", "message"):  # by type: one pass each
            for lines in generate(args, prefix):
                for line in lines:
                    if line["type"] == wanted:
                        out.write(json.dumps(line, ensure_ascii=False) + "\n")
                        count += 1
    return count


def setup() -> Channel:
    from django.contrib.auth import get_user_model

    from helpdesk.agents.models import AgentProfile

    for username in AGENTS:
        user, _created = get_user_model().objects.get_or_create(
            username=username, defaults={"email": f"{username}@shop.example"}
        )
        AgentProfile.objects.get_or_create(user=user, defaults={"display_name": username.title()})
    for name in TEAMS:
        Team.objects.get_or_create(name=name)
    if not SLAPolicy.objects.filter(is_default=True).exists():
        SLAPolicy.objects.create(
            name="Bench default", is_default=True, first_response_minutes=60,
            next_response_minutes=240, resolution_minutes=60 * 24, warn_percent=80,
        )
    return Channel.objects.create(kind="sms", name=f"Bench import {uuid.uuid4().hex[:6]}")


def rows() -> int:
    return sum(model.objects.count() for model in TABLES)


def backend_cpu() -> float | None:
    """CPU seconds of this connection's PostgreSQL backend (a local server), else None."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    stat = Path(f"/proc/{pid}/stat")
    if not stat.exists():
        return None
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_import(path: Path, channel: Channel, args: argparse.Namespace, profile: bool) -> Any:
    db_before, py_before = backend_cpu(), time.process_time()
    profiler = cProfile.Profile() if profile else None
    with path.open("rb") as lines:
        if profiler:
            profiler.enable()
        summary = history_import(
            lines=lines,
            channel=channel,
            chunk_size=args.chunk_size,
            use_copy={"copy": True, "bulk_create": False}.get(args.writer),
        )
        if profiler:
            profiler.disable()
    db_after = backend_cpu()
    db = None if db_before is None or db_after is None else db_after - db_before
    if profiler:
        pstats.Stats(profiler).sort_stats(args.sort).print_stats(30)
    return summary, db, time.process_time() - py_before


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--conversations", type=int, default=50_000)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    parser.add_argument("--writer", choices=["auto", "copy", "bulk_create"], default="auto")
    parser.add_argument("--layout", choices=["grouped", "by-type"], default="grouped")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--sort", default="cumulative", help="cProfile order (e.g. tottime)")
    args = parser.parse_args()
    prefix = uuid.uuid4().hex[:6]
    channel = setup()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "history.jsonl"
        lines = write_file(args, prefix, path)
        size = path.stat().st_size / 1e6
        before = rows()
        summary, db_cpu, py_cpu = timed_import(path, channel, args, args.profile)
        written = rows() - before
        again, _db, _py = timed_import(path, channel, args, False)
    first = summary.as_dict()
    print(f"{connection.vendor}, writer={args.writer}, chunk={args.chunk_size}, "
          f"layout={args.layout}: {lines} lines ({size:.0f} MB)")
    print(f"  import: {summary.seconds:.1f} s = {lines / summary.seconds:,.0f} lines/s, "
          f"{written:,} rows written = {written / summary.seconds:,.0f} rows/s")
    cpu = f"database backend {db_cpu:.1f} s, " if db_cpu is not None else ""
    print(f"  CPU: {cpu}importing process {py_cpu:.1f} s")
    print(f"  again: {again.seconds:.1f} s = {lines / again.seconds:,.0f} lines/s, "
          f"created {sum(t.created for t in again.tallies.values())}, "
          f"refused {again.refused}")
    print(f"  summary: {json.dumps(first)}")


if __name__ == "__main__":
    main()
