"""Importing a shop's history (customers, conversations, messages) from a JSON Lines file.

`history_import` reads the file in chunks of lines; each chunk is one transaction
(`chunk.import_chunk`). A bad line is refused with its line number and the reason, and so is
every line that depends on it; the rest of the chunk is imported. Idempotent: references
already imported are skipped, so importing a file again changes nothing, and importing it
again after fixing refused lines adds just those. The format is in `records` and README.md.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.imports.chunk import import_chunk
from helpdesk.imports.lookups import Lookups
from helpdesk.imports.records import (
    ConversationRecord,
    CustomerRecord,
    Record,
    RecordError,
    parse_line,
)
from helpdesk.imports.state import KINDS, ChunkReport, ImportRun, LineError, Tally
from helpdesk.imports.writers import RowWriter
from helpdesk.inboxes.models import Channel

logger = logging.getLogger(__name__)

# Lines per transaction (bench/RESULTS.md, "Bulk import"): 1,000 costs a third more CPU in
# per-chunk lookups; 20,000 imports no faster and holds linked customers' locks four times as
# long.
DEFAULT_CHUNK_SIZE = 5000


@dataclass(frozen=True)
class ImportSummary:
    dry_run: bool
    lines: int
    unreadable: int  # lines that were not a record of a known type
    tallies: dict[str, Tally]
    labels_created: int
    seconds: float

    @property
    def refused(self) -> int:
        return self.unreadable + sum(t.refused for t in self.tallies.values())

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"dry_run": self.dry_run, "lines": self.lines}
        for kind in KINDS:
            tally = self.tallies[kind]
            counts = {"created": tally.created}
            if kind == "customers":
                counts["linked"] = tally.linked
            out[kind] = {**counts, "skipped": tally.skipped, "refused": tally.refused}
        out["unreadable_lines"] = self.unreadable
        out["labels_created"] = self.labels_created
        out["seconds"] = round(self.seconds, 2)
        return out


def history_import(
    *,
    lines: Iterable[bytes],
    channel: Channel | None = None,
    dry_run: bool = False,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_error: Callable[[LineError], None] = lambda error: None,
    use_copy: bool | None = None,
) -> ImportSummary:
    """Import the records in `lines` (a file's raw lines, numbered from 1); conversations
    without a channel of their own go to `channel`. Each problem is handed to `on_error` as
    soon as its chunk is done, in line order. A dry run reads and checks everything against
    the database, counts what it would do and writes nothing. `use_copy` chooses the writer
    (default: COPY on PostgreSQL, `bulk_create` elsewhere; benchmarks compare both).

    Guarantees: idempotent (see the module); each chunk commits whole or not at all (a chunk
    that meets a concurrent write to the same rows is tried once more, then refused); no
    message text or contact address is logged or put in an error. Events: see `chunk`."""
    started = time.monotonic()
    run = ImportRun(
        started_at=timezone.now(),
        dry_run=dry_run,
        lookups=Lookups(default_channel=channel, dry_run=dry_run),
    )
    count = unreadable = 0
    for numbered in _chunks(lines, chunk_size):
        count += len(numbered)
        records: list[Record] = []
        unparsed = ChunkReport()
        for number, raw in numbered:
            try:
                record = parse_line(raw, number, now=run.started_at)
            except RecordError as exc:
                unreadable += _refuse_unparsed(unparsed, number, exc)
                continue
            if record is not None:
                records.append(record)
        run.absorb(unparsed)  # before the chunk: its lines may depend on a refused one
        report = _import_with_retry(records, run, use_copy)
        run.absorb(report)
        for error in sorted([*unparsed.errors, *report.errors], key=lambda e: e.line):
            on_error(error)
    summary = ImportSummary(
        dry_run=dry_run,
        lines=count,
        unreadable=unreadable,
        tallies=run.tallies,
        labels_created=run.lookups.labels_created,
        seconds=time.monotonic() - started,
    )
    logger.info("history import done %s", json.dumps(summary.as_dict()))
    return summary


def _chunks(lines: Iterable[bytes], size: int) -> Iterator[list[tuple[int, bytes]]]:
    chunk: list[tuple[int, bytes]] = []
    for number, raw in enumerate(lines, start=1):
        chunk.append((number, raw))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _refuse_unparsed(report: ChunkReport, line: int, error: RecordError) -> int:
    """Count a line that did not parse; returns 1 when not even its type was known. Its
    reference, when readable, is remembered as refused so dependent lines say why."""
    report.errors.append(LineError(line, error.message))
    if error.kind not in KINDS:
        return 1
    report.tallies[error.kind].refused += 1
    if error.ref and error.kind == "customers":
        report.refused_customers[error.ref] = line
    elif error.ref and error.kind == "conversations":
        report.refused_conversations[error.ref] = line
    return 0


def _import_with_retry(
    records: list[Record], run: ImportRun, use_copy: bool | None
) -> ChunkReport:
    if not records:
        return ChunkReport()
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                writer = RowWriter(use_copy=use_copy)
                report = import_chunk(records=records, run=run, writer=writer)
        except IntegrityError as exc:
            run.lookups.rollback()
            constraint = _constraint(exc)
            if attempt == 1:
                logger.info(
                    "history import lines %s-%s met a concurrent write (%s); trying again",
                    records[0].line,
                    records[-1].line,
                    constraint,
                )
                continue
            return _refuse_all(
                records,
                _("Not imported: lines %(first)s to %(last)s met a concurrent change to the same "
                  "rows (%(constraint)s). Run the import again; what is imported is skipped.")
                % {"first": records[0].line, "last": records[-1].line, "constraint": constraint},
            )
        except DatabaseError as exc:
            run.lookups.rollback()
            # The database's own message may quote values (a text, an address): never shown.
            logger.warning(
                "history import lines %s-%s refused by the database: %s",
                records[0].line,
                records[-1].line,
                type(exc).__name__,
            )
            return _refuse_all(
                records,
                _("Not imported: the database refused lines %(first)s to %(last)s "
                  "(%(error)s).")
                % {"first": records[0].line, "last": records[-1].line,
                   "error": type(exc).__name__},
            )
        run.lookups.commit()
        return report
    raise AssertionError("unreachable")


def _constraint(exc: IntegrityError) -> str:
    diag = getattr(exc.__cause__, "diag", None)
    return getattr(diag, "constraint_name", None) or type(exc).__name__


def _refuse_all(records: list[Record], message: str) -> ChunkReport:
    report = ChunkReport()
    for record in records:
        kind = (
            "customers"
            if isinstance(record, CustomerRecord)
            else "conversations"
            if isinstance(record, ConversationRecord)
            else "messages"
        )
        report.refuse(kind, record, message)
        if isinstance(record, CustomerRecord):
            report.refused_customers[record.ref] = record.line
        elif isinstance(record, ConversationRecord):
            report.refused_conversations[record.ref] = record.line
    return report
