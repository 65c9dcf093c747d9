"""`manage.py run_ingest`: the Procfile's `ingest` process. Turns stored webhooks into messages
as they arrive (see `channels_app.ingest`). Run several for more throughput; they share the
work without reordering any sender's messages."""

from __future__ import annotations

import logging
import os
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from channels_app.ingest.processor import BATCH_SIZE, ingest_drain, ingest_process_batch
from channels_app.ingest.wakeup import Waiter

logger = logging.getLogger("channels_app.ingest")


class Command(BaseCommand):
    help = "Process stored inbound webhooks into conversations as they arrive."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument(
            "--once", action="store_true", help="Process what is due now, then exit."
        )
        parser.add_argument(
            "--nice",
            type=int,
            default=int(os.environ.get("INGEST_NICE", "10")),
            help="CPU priority below the web process (accepting webhooks fast comes first; "
            "a burst is processed a moment later). 0 keeps the normal priority.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        batch = max(1, options["batch_size"])
        if options["once"]:
            self.stdout.write(f"{ingest_drain(limit=batch)} rows processed")
            return
        if options["nice"] > 0:
            os.nice(options["nice"])
        stopping = False

        def stop(signum: int, frame: object) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        waiter = Waiter()
        logger.info("ingest: started (batch %s)", batch)
        while not stopping:
            try:
                claimed = ingest_process_batch(limit=batch)
            except Exception:
                logger.exception("ingest: batch failed; retrying in 1 s")
                close_old_connections()
                time.sleep(1)
                continue
            if not claimed:
                waiter.wait()
        waiter.close()
        logger.info("ingest: stopped")
