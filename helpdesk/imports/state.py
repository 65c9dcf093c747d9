"""What an import run remembers between chunks, and what one chunk reports back.

A chunk is one transaction. What it learns (refused references, counts, errors) is kept in
its `ChunkReport` and reaches the run only once the chunk commits, so a chunk that is rolled
back and tried again counts nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from helpdesk.imports.records import Record

if TYPE_CHECKING:
    from helpdesk.customers.models import Customer
    from helpdesk.imports.lookups import Lookups

KINDS = ("customers", "conversations", "messages")


@dataclass
class Tally:
    created: int = 0
    linked: int = 0  # customers only: an existing customer had the record's address
    skipped: int = 0
    refused: int = 0

    def add(self, other: Tally) -> None:
        self.created += other.created
        self.linked += other.linked
        self.skipped += other.skipped
        self.refused += other.refused


@dataclass(frozen=True)
class LineError:
    line: int
    message: str


@dataclass
class DryConversation:
    """A conversation a dry run would have created in an earlier chunk."""

    channel_id: int


@dataclass
class ChunkReport:
    tallies: dict[str, Tally] = field(default_factory=lambda: {k: Tally() for k in KINDS})
    errors: list[LineError] = field(default_factory=list)
    refused_customers: dict[str, int] = field(default_factory=dict)  # ref -> line
    refused_conversations: dict[str, int] = field(default_factory=dict)
    # Dry runs only: what this chunk would have created, for the chunks after it.
    dry_customers: dict[str, Customer] = field(default_factory=dict)
    dry_addresses: dict[tuple[str, str], Customer] = field(default_factory=dict)
    dry_conversations: dict[str, DryConversation] = field(default_factory=dict)

    def refuse(self, kind: str, record: Record, message: str) -> None:
        self.tallies[kind].refused += 1
        self.errors.append(LineError(record.line, message))

    def count(self, kind: str, what: str, n: int = 1) -> None:
        tally = self.tallies[kind]
        setattr(tally, what, getattr(tally, what) + n)


@dataclass
class ImportRun:
    started_at: datetime  # open imported conversations start their SLA clocks here
    dry_run: bool
    lookups: Lookups
    tallies: dict[str, Tally] = field(default_factory=lambda: {k: Tally() for k in KINDS})
    refused_customers: dict[str, int] = field(default_factory=dict)
    refused_conversations: dict[str, int] = field(default_factory=dict)
    dry_customers: dict[str, Customer] = field(default_factory=dict)
    dry_addresses: dict[tuple[str, str], Customer] = field(default_factory=dict)
    dry_conversations: dict[str, DryConversation] = field(default_factory=dict)

    def absorb(self, report: ChunkReport) -> None:
        """Take in a committed chunk's report."""
        for kind in KINDS:
            self.tallies[kind].add(report.tallies[kind])
        self.refused_customers.update(report.refused_customers)
        self.refused_conversations.update(report.refused_conversations)
        self.dry_customers.update(report.dry_customers)
        self.dry_addresses.update(report.dry_addresses)
        self.dry_conversations.update(report.dry_conversations)
