"""`manage.py create_agent` and the agent services behind it."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse

from helpdesk.agents.models import AgentProfile
from helpdesk.agents.services import agent_create, agent_profile_add
from helpdesk.core.errors import DomainError
from tests.support import factories

pytestmark = pytest.mark.django_db

User = get_user_model()
PASSWORD = "correct-horse-battery-staple"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def create_agent(*args: str, stdin: str | io.StringIO = "") -> dict[str, Any]:
    out = io.StringIO()
    given = stdin if isinstance(stdin, io.StringIO) else io.StringIO(stdin)
    call_command("create_agent", *args, stdin=given, stdout=out)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1, lines  # one JSON line, nothing else
    return json.loads(lines[0])


def test_create_agent_reads_the_password_from_stdin_and_prints_json(client):
    result = create_agent(
        "--username", "amina", "--email", "Amina@Shop.Example", "--display-name", "Amina Haddad",
        "--language", "ar", "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    user = User.objects.get(pk=result["id"])
    assert result == {
        "id": user.pk,
        "username": "amina",
        "agent_profile_id": user.agent_profile.pk,
        "display_name": "Amina Haddad",
        "created": True,
        "staff": False,
        "superuser": False,
    }
    assert user.email == "Amina@shop.example"  # the domain part is normalized
    assert (user.first_name, user.last_name) == ("Amina", "Haddad")
    assert user.agent_profile.language == "ar"
    assert PASSWORD not in json.dumps(result)
    response = client.post(reverse("console:login"), {"username": "amina", "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("console:inbox")


@pytest.mark.parametrize("flag", ["--manager", "--superuser"])
def test_create_agent_manager_and_superuser_get_the_demo_managers_rights(flag, client):
    result = create_agent("--username", "morgan", flag, "--password-stdin", stdin=PASSWORD)
    user = User.objects.get(pk=result["id"])
    assert user.is_staff and user.is_superuser and result["staff"] and result["superuser"]
    assert user.agent_profile.display_name == "morgan"
    assert client.login(username="morgan", password=PASSWORD)
    assert client.get(reverse("admin:index")).status_code == 200
    assert client.get(reverse("console:inbox")).status_code == 200


def test_create_agent_prompts_twice_in_a_terminal(monkeypatch):
    answers = iter([PASSWORD, PASSWORD])
    prompts: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    result = create_agent("--username", "lucas", stdin=Terminal())
    assert len(prompts) == 2
    assert User.objects.get(pk=result["id"]).check_password(PASSWORD)


def test_create_agent_refuses_differing_prompted_passwords(monkeypatch):
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    with pytest.raises(CommandError, match="differ"):
        create_agent("--username", "lucas", stdin=Terminal())
    assert not User.objects.filter(username="lucas").exists()


def test_create_agent_without_a_terminal_or_stdin_flag_asks_for_password_stdin():
    with pytest.raises(CommandError, match="--password-stdin"):
        create_agent("--username", "lucas")
    assert not User.objects.exists()


def test_create_agent_has_no_password_argument():
    with pytest.raises(CommandError):
        call_command("create_agent", "--username", "lucas", "--password", PASSWORD)


def test_create_agent_refuses_a_weak_password_and_saves_nothing():
    with pytest.raises(CommandError, match=r"too common|too short"):
        create_agent("--username", "lucas", "--password-stdin", stdin="password\n")
    assert not User.objects.exists() and not AgentProfile.objects.exists()


def test_create_agent_refuses_a_taken_username_and_points_to_existing():
    factories.UserFactory(username="admin")
    with pytest.raises(CommandError, match="exists already"):
        create_agent("--username", "Admin", "--password-stdin", stdin=PASSWORD)
    assert User.objects.count() == 1


def test_create_agent_existing_makes_a_createsuperuser_account_usable_in_the_console(client):
    call_command(
        "createsuperuser", username="admin", email="admin@shop.example", interactive=False
    )
    admin = User.objects.get(username="admin")
    admin.set_password(PASSWORD)
    admin.save()
    refused = client.post(reverse("console:login"), {"username": "admin", "password": PASSWORD})
    assert b"not an agent account" in refused.content
    assert b"create_agent --existing admin" in refused.content

    result = create_agent("--existing", "admin", "--display-name", "Site Admin")
    assert result["id"] == admin.pk and result["created"] is True
    assert result["superuser"] is True
    admin.refresh_from_db()
    assert admin.check_password(PASSWORD)  # untouched
    assert admin.agent_profile.display_name == "Site Admin"
    response = client.post(reverse("console:login"), {"username": "admin", "password": PASSWORD})
    assert response.status_code == 302 and response.url == reverse("console:inbox")


def test_create_agent_existing_twice_changes_nothing():
    user = factories.UserFactory(username="admin", first_name="Ada", last_name="Lovelace")
    first = create_agent("--existing", "admin")
    second = create_agent("--existing", "admin", "--display-name", "Someone else")
    assert first["created"] is True and second["created"] is False
    assert first["agent_profile_id"] == second["agent_profile_id"]
    assert AgentProfile.objects.get(user=user).display_name == "Ada Lovelace"


def test_create_agent_existing_refuses_unknown_users_and_password_input():
    with pytest.raises(CommandError, match="no user named ghost"):
        create_agent("--existing", "ghost")
    factories.UserFactory(username="admin")
    with pytest.raises(CommandError, match="keeps the user's password"):
        create_agent("--existing", "admin", "--password-stdin", stdin=PASSWORD)
    assert not AgentProfile.objects.exists()


def test_create_agent_needs_username_or_existing_but_not_both():
    with pytest.raises(CommandError):
        call_command("create_agent")
    with pytest.raises(CommandError):
        call_command("create_agent", "--username", "a", "--existing", "b")


def test_agent_profile_add_grants_manager_rights_but_never_takes_them():
    user = factories.UserFactory(username="lead")
    agent_profile_add(user=user, manager=True)
    user.refresh_from_db()
    assert user.is_staff and user.is_superuser
    agent_profile_add(user=user, manager=False)
    user.refresh_from_db()
    assert user.is_staff and user.is_superuser


def test_agent_create_refuses_bad_input_with_domain_errors():
    with pytest.raises(DomainError) as bad_name:
        agent_create(username="no spaces allowed", password=PASSWORD)
    assert bad_name.value.code == "username"
    with pytest.raises(DomainError) as bad_email:
        agent_create(username="lucas", password=PASSWORD, email="not-an-address")
    assert bad_email.value.code == "email"
    with pytest.raises(DomainError) as bad_language:
        agent_create(username="lucas", password=PASSWORD, language="xx")
    assert bad_language.value.code == "language"
    assert not User.objects.exists()
