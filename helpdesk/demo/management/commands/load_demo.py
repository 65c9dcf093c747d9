"""`manage.py load_demo`: demo agents, channels and conversations; prints the logins."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from helpdesk.demo.loader import demo_load


class Command(BaseCommand):
    help = "Load demo agents, teams, labels, canned responses, channels and conversations."

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.DEMO_ENABLED:
            raise CommandError(
                "Demo data creates logins with published passwords (a superuser among them). "
                "It loads when DEBUG is on, or with RELAY_DEMO=1 if you really mean it."
            )
        # One "Enqueued" line per demo reply says nothing useful here.
        logging.getLogger("django-q").setLevel(logging.WARNING)
        started = time.monotonic()
        summary = demo_load()
        elapsed = time.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data ready in {elapsed:.1f}s: {summary.samples_loaded} new of "
                f"{summary.samples_seen} sample messages"
                + (" (SLA policies seeded)" if summary.sla_seeded else "")
                + "."
            )
        )
        self.stdout.write(
            _("Demo shop widget accepts pages from: %(origins)s")
            % {"origins": ", ".join(summary.widget_origins)}
        )
        self.stdout.write("Demo logins (console at /, admin at /admin/):")
        for username, password, _created in summary.users:
            role = "manager, admin" if username == "manager" else "agent"
            self.stdout.write(f"  {username:<10} {password:<20} ({role})")
