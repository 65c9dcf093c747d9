"""`manage.py create_channel twilio-sms|twilio-whatsapp --name … --account-sid … --auth-token …
--sender …|--messaging-service-sid …` prints {"id", "inbound_url", "status_url"} as JSON."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from channels_app.twilio import config
from channels_app.twilio.setup import channel_create_twilio
from helpdesk.core.errors import DomainError

KINDS = {"twilio-sms": "sms", "twilio-whatsapp": "whatsapp"}


class Command(BaseCommand):
    help = "Create a Twilio SMS or WhatsApp channel and print its webhook URLs as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(KINDS))
        parser.add_argument("--name", required=True)
        parser.add_argument("--account-sid", required=True)
        parser.add_argument("--auth-token", required=True)
        parser.add_argument("--sender", default="")
        parser.add_argument("--messaging-service-sid", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            channel = channel_create_twilio(
                kind=KINDS[options["kind"]],
                name=options["name"],
                account_sid=options["account_sid"],
                auth_token=options["auth_token"],
                sender=options["sender"],
                messaging_service_sid=options["messaging_service_sid"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            json.dumps(
                {
                    "id": channel.pk,
                    "inbound_url": config.inbound_url(channel),
                    "status_url": config.status_url(channel),
                }
            )
        )
