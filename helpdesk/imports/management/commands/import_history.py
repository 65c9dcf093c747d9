"""`manage.py import_history FILE.jsonl [--channel ID] [--dry-run]`: a shop's history.

Reads customers, conversations and messages from JSON Lines (README.md, "Importing
history"; `-` reads standard input), prints each refused line with its number and the reason
on standard error, then one JSON summary on standard output. Exits non-zero when a line was
refused. Safe to run again: what was imported is skipped.
"""

from __future__ import annotations

import json
import sys
import uuid
from typing import Any, BinaryIO

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from helpdesk.imports.services import DEFAULT_CHUNK_SIZE, history_import
from helpdesk.imports.state import LineError
from helpdesk.inboxes.models import Channel


class Command(BaseCommand):
    def add_arguments(self, parser: CommandParser) -> None:
        # argparse needs plain strings, so these are translated here rather than lazily.
        parser.description = _(
            "Import customers, conversations and messages from a JSON Lines file. Prints the "
            "refused lines on standard error and a JSON summary; running it again skips what "
            "was imported."
        )
        parser.add_argument("file", help=_("the JSON Lines file (- for standard input)"))
        parser.add_argument(
            "--channel",
            default="",
            help=_("id or public id of the channel for conversations that name none"),
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help=_("check the file against the database and count, without writing anything"),
        )
        parser.add_argument(
            "--chunk-size",
            type=int,
            default=DEFAULT_CHUNK_SIZE,
            help=_("lines per transaction (default %(default)s)"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] < 1:
            raise CommandError(_("--chunk-size must be at least 1."))
        channel = _channel(options["channel"])
        if options["file"] == "-":
            summary = self._import(sys.stdin.buffer, channel, options)
        else:
            try:
                stream = open(options["file"], "rb")  # noqa: SIM115 - closed below
            except OSError as exc:
                raise CommandError(
                    _("Cannot read %(file)s: %(error)s")
                    % {"file": options["file"], "error": exc.strerror}
                ) from exc
            with stream:
                summary = self._import(stream, channel, options)
        self.stdout.write(json.dumps(summary.as_dict()))
        if summary.refused:
            raise CommandError(
                _("%(count)s lines were refused (listed above). Fix them and run the import "
                  "again: what was imported is skipped.") % {"count": summary.refused}
            )

    def _import(self, stream: BinaryIO, channel: Channel | None, options: dict[str, Any]) -> Any:
        return history_import(
            lines=stream,
            channel=channel,
            dry_run=options["dry_run"],
            chunk_size=options["chunk_size"],
            on_error=self._error,
        )

    def _error(self, error: LineError) -> None:
        self.stderr.write(_("line %(line)s: %(message)s") % {
            "line": error.line, "message": error.message
        })


def _channel(identifier: str) -> Channel | None:
    if not identifier:
        return None
    query = Channel.objects.all()
    if identifier.isdigit():
        channel = query.filter(pk=int(identifier)).first()
    else:
        try:
            channel = query.filter(public_id=uuid.UUID(identifier)).first()
        except ValueError:
            channel = None
    if channel is None:
        raise CommandError(
            _("There is no channel with id or public id %(channel)s.") % {"channel": identifier}
        )
    return channel
