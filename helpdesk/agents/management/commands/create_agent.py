"""`manage.py create_agent`: a console login from the command line; prints one JSON line.

  create_agent --username amina --email amina@shop.example --display-name "Amina Haddad"
  create_agent --username morgan --manager --password-stdin < secret.txt
  create_agent --existing admin          # a `createsuperuser` account becomes an agent too

The password comes from standard input (`--password-stdin`) or a prompt, never from an
argument: arguments end up in shell history, process lists and logs.
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from helpdesk.agents.services import AgentResult, agent_create, agent_profile_add
from helpdesk.core.errors import DomainError

User = get_user_model()


class Command(BaseCommand):
    stealth_options = ("stdin",)  # tests hand in their own standard input

    def add_arguments(self, parser: CommandParser) -> None:
        # argparse needs plain strings, so these are translated here rather than lazily.
        parser.description = _(
            "Create an agent (a user with the agent profile the console needs), or make an "
            "existing user an agent with --existing. Prints the result as one JSON line."
        )
        who = parser.add_mutually_exclusive_group(required=True)
        who.add_argument("--username", help=_("username of the new agent"))
        who.add_argument(
            "--existing",
            metavar="USERNAME",
            help=_(
                "give this existing user (e.g. one made by createsuperuser) an agent profile; "
                "the password stays as it is"
            ),
        )
        parser.add_argument("--email", default="", help=_("email address"))
        parser.add_argument(
            "--display-name",
            default="",
            help=_("name shown to colleagues and customers (default: the username)"),
        )
        parser.add_argument(
            "--language",
            default=settings.LANGUAGE_CODE,
            choices=[code for code, _name in settings.LANGUAGES],
            help=_("console language"),
        )
        parser.add_argument(
            "--manager",
            action="store_true",
            help=_(
                "manager rights as the demo's manager has: staff, and every right in admin"
            ),
        )
        parser.add_argument(
            "--superuser",
            action="store_true",
            help=_(
                "a superuser who can also use the console (the same rights as --manager)"
            ),
        )
        parser.add_argument(
            "--password-stdin",
            action="store_true",
            help=_("read the password from the first line of standard input"),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdin = options.get("stdin", sys.stdin)
        manager = options["manager"] or options["superuser"]
        try:
            if options["existing"]:
                result = self._existing(options, manager)
            else:
                result = agent_create(
                    username=options["username"],
                    password=self._password(options),
                    email=options["email"],
                    display_name=options["display_name"],
                    language=options["language"],
                    manager=manager,
                )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps(_summary(result)))

    def _existing(self, options: dict[str, Any], manager: bool) -> AgentResult:
        if options["password_stdin"]:
            raise CommandError(_("--existing keeps the user's password; drop --password-stdin."))
        if options["email"]:
            raise CommandError(_("--existing keeps the user's email address; drop --email."))
        user = User.objects.filter(**{User.USERNAME_FIELD: options["existing"]}).first()
        if user is None:
            raise CommandError(
                _("There is no user named %(username)s.") % {"username": options["existing"]}
            )
        return agent_profile_add(
            user=user,
            display_name=options["display_name"],
            language=options["language"],
            manager=manager,
        )

    def _password(self, options: dict[str, Any]) -> str:
        if options["password_stdin"]:
            password = self.stdin.readline().rstrip("\r\n")
            if not password:
                raise CommandError(_("Standard input held no password."))
            return password
        if not (hasattr(self.stdin, "isatty") and self.stdin.isatty()):
            raise CommandError(
                _("No password: pass it on standard input with --password-stdin, or run the "
                  "command in a terminal to be asked for it.")
            )
        password = getpass.getpass(_("Password: "))
        if password != getpass.getpass(_("Password (again): ")):
            raise CommandError(_("The two passwords differ."))
        if not password:
            raise CommandError(_("The password may not be empty."))
        return password


def _summary(result: AgentResult) -> dict[str, Any]:
    user = result.user
    return {
        "id": user.pk,
        "username": user.get_username(),
        "agent_profile_id": result.profile.pk,
        "display_name": result.profile.display_name,
        "created": result.created,
        "staff": user.is_staff,  # type: ignore[attr-defined]
        "superuser": user.is_superuser,  # type: ignore[attr-defined]
    }
