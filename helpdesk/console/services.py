"""Console-only writes: read markers and the agent's own preferences."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from helpdesk.agents.models import AgentProfile, Availability
from helpdesk.conversations.models import Conversation, ConversationRead
from helpdesk.core.errors import DomainError
from helpdesk.core.realtime import agent_group, broadcast_on_commit


@transaction.atomic
def conversation_mark_read(
    *, user: AbstractBaseUser, conversation: Conversation, message_id: int
) -> None:
    """Record that `user` has read `conversation` up to `message_id`. Never moves backwards
    (a stale tab cannot mark newer messages unread); safe under concurrency."""
    read, created = ConversationRead.objects.get_or_create(
        user_id=user.pk,
        conversation_id=conversation.pk,
        defaults={"last_read_message_id": message_id},
    )
    if not created and read.last_read_message_id < message_id:
        ConversationRead.objects.filter(pk=read.pk).update(
            last_read_message_id=Greatest(F("last_read_message_id"), message_id),
            read_at=timezone.now(),
        )


@transaction.atomic
def agent_set_availability(*, user: AbstractBaseUser, availability: str) -> AgentProfile:
    """Set the agent's own online/away/offline state; tells their other tabs."""
    if availability not in Availability.values:
        raise DomainError(_("Unknown availability."), code="availability")
    profile = AgentProfile.objects.select_for_update().get(user_id=user.pk)
    profile.last_seen_at = timezone.now()
    if profile.availability == availability:
        profile.save(update_fields=["last_seen_at"])
        return profile
    profile.availability = availability
    profile.save(update_fields=["availability", "last_seen_at"])
    broadcast_on_commit(
        agent_group(user.pk), {"type": "agent.availability", "availability": availability}
    )
    return profile


@transaction.atomic
def agent_set_language(*, user: AbstractBaseUser, language: str) -> AgentProfile:
    from django.conf import settings

    if language not in dict(settings.LANGUAGES):
        raise DomainError(_("Unknown language."), code="language")
    profile = AgentProfile.objects.select_for_update().get(user_id=user.pk)
    profile.language = language
    profile.save(update_fields=["language"])
    return profile
