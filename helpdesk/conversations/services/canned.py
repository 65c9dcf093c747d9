"""Canned responses: `{{customer.name}}`-style variables filled from the conversation.

A deliberately small substitution (no template engine), so a canned text can never run code
or reach attributes it should not. Unknown variables stay visible for the agent to fix.
"""

from __future__ import annotations

import re

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Q

from helpdesk.conversations.models import CannedResponse, Conversation
from helpdesk.conversations.services.activity import display_name
from helpdesk.customers.models import IdentityKind

_VARIABLE = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*\}\}")


def canned_variables(
    *, conversation: Conversation, agent: AbstractBaseUser | None
) -> dict[str, str]:
    customer = conversation.customer
    identities = {i.kind: i.address for i in customer.identities.all()}
    return {
        "customer.name": customer.name,
        "customer.first_name": customer.first_name,
        "customer.email": identities.get(IdentityKind.EMAIL, ""),
        "customer.phone": identities.get(IdentityKind.PHONE, "")
        or identities.get(IdentityKind.WHATSAPP, ""),
        "agent.name": display_name(agent) if agent else "",
        "conversation.id": str(conversation.pk),
        "channel.name": conversation.channel.name,
    }


def canned_render(text: str, variables: dict[str, str]) -> str:
    def substitute(match: re.Match[str]) -> str:
        key = match.group(1)
        return variables[key] if key in variables else match.group(0)

    return _VARIABLE.sub(substitute, text)


def canned_for_agent(agent: AbstractBaseUser) -> list[CannedResponse]:
    """Global responses plus those of the agent's teams, ordered by shortcut."""
    return list(
        CannedResponse.objects.filter(Q(team__isnull=True) | Q(team__members=agent))
        .distinct()
        .order_by("shortcut")
    )
