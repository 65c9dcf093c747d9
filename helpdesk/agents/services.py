"""Agent writes: new agent accounts, and the agent profile that lets a user into the console."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from helpdesk.agents.models import AgentProfile
from helpdesk.core.errors import DomainError

User = get_user_model()


@dataclass(frozen=True)
class AgentResult:
    user: AbstractBaseUser
    profile: AgentProfile
    created: bool  # False: the user was already an agent and nothing changed but the rights


def check_language(language: str) -> None:
    if language not in dict(settings.LANGUAGES):
        raise DomainError(
            _("Unknown language %(language)s; choose one of: %(choices)s.")
            % {"language": language, "choices": ", ".join(dict(settings.LANGUAGES))},
            code="language",
        )


def _grant_manager(user: AbstractBaseUser) -> None:
    # What the demo's manager has: staff (Relay's managers get breach and supervisor
    # notifications) and every admin right (Relay defines no narrower admin roles).
    user.is_staff = True  # type: ignore[attr-defined]
    user.is_superuser = True  # type: ignore[attr-defined]


def _display_name(user: AbstractBaseUser, display_name: str) -> str:
    name = display_name.strip() or user.get_full_name().strip()  # type: ignore[attr-defined]
    return (name or user.get_username())[: AgentProfile._meta.get_field("display_name").max_length]


@transaction.atomic
def agent_create(
    *,
    username: str,
    password: str,
    email: str = "",
    display_name: str = "",
    language: str = "en",
    manager: bool = False,
) -> AgentResult:
    """A new user with an agent profile, able to sign in to the console at once.

    `manager` gives the rights the demo's manager has (staff and superuser). The password goes
    through the configured password validators. Raises DomainError for a taken or malformed
    username, a bad email address, a weak password or an unknown language; nothing is saved
    then.
    """
    check_language(language)
    username = User.normalize_username(username.strip())
    if not username:
        raise DomainError(_("A username is required."), code="username")
    longest = User._meta.get_field(User.USERNAME_FIELD).max_length
    if longest and len(username) > longest:
        raise DomainError(
            _("A username has at most %(count)d characters.") % {"count": longest},
            code="username",
        )
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), code="username") from exc
    if User.objects.filter(**{f"{User.USERNAME_FIELD}__iexact": username}).exists():
        raise DomainError(
            _("A user named %(username)s exists already.") % {"username": username},
            code="username_taken",
        )
    email = User.objects.normalize_email(email.strip())
    if email:
        try:
            validate_email(email)
        except ValidationError as exc:
            raise DomainError(_("Enter a valid email address."), code="email") from exc
    user = User(username=username, email=email)
    first, _space, last = display_name.strip().partition(" ")
    user.first_name, user.last_name = first[:150], last[:150]
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), code="password") from exc
    if manager:
        _grant_manager(user)
    user.set_password(password)
    user.save()
    profile = AgentProfile.objects.create(
        user=user, display_name=_display_name(user, display_name), language=language
    )
    return AgentResult(user=user, profile=profile, created=True)


@transaction.atomic
def agent_profile_add(
    *,
    user: AbstractBaseUser,
    display_name: str = "",
    language: str = "en",
    manager: bool = False,
) -> AgentResult:
    """Make an existing user (one from `createsuperuser`, say) an agent: give them the agent
    profile the console asks for. The password is left alone.

    Idempotent: a user who is an agent already keeps their profile as it is (`created` is
    False). `manager` grants the manager's rights; it never takes rights away.
    """
    check_language(language)
    user = User.objects.select_for_update().get(pk=user.pk)
    if manager and not (user.is_staff and user.is_superuser):  # type: ignore[attr-defined]
        _grant_manager(user)
        user.save(update_fields=["is_staff", "is_superuser"])
    profile, created = AgentProfile.objects.get_or_create(
        user=user,
        defaults={"display_name": _display_name(user, display_name), "language": language},
    )
    return AgentResult(user=user, profile=profile, created=created)
