"""Load the demo: people, teams, labels, canned responses, one channel of each kind, and
conversations built from the shared sample messages through the real services.

Idempotent: configuration rows are looked up by natural key before being created, and each
sample message has a stable provider id, so a second run receives nothing new and changes
nothing (a sample's follow-up steps only run when its message was new). The one exception is
the demo widget's allowed origins: they follow PUBLIC_BASE_URL, so a run on another port
replaces them. Each sample is built
in one transaction, so an interrupted run leaves no half-built conversation behind.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from helpdesk.agents.models import AgentProfile, Team
from helpdesk.conversations.models import CannedResponse, Conversation, Label
from helpdesk.conversations.services import (
    InboundMessage,
    canned_render,
    canned_variables,
    conversation_add_label,
    conversation_assign,
    conversation_change_status,
    conversation_set_priority,
    conversation_set_team,
    message_receive_inbound,
    message_send_reply,
    message_update_delivery_status,
    note_create,
)
from helpdesk.customers.models import Customer, IdentityKind
from helpdesk.customers.services import customer_update, identity_attach
from helpdesk.demo import catalog
from helpdesk.inboxes.models import Channel

logger = logging.getLogger(__name__)

User = get_user_model()

BUNDLED_SAMPLES = Path(__file__).resolve().parent / "data" / "sample_messages.jsonl"
SAMPLE_CHANNEL = {"widget": "widget", "sms": "sms", "whatsapp": "whatsapp", "email": "email"}
# What a provider reports for a reply on each channel kind (widget/API replies are `sent`
# by the worker; Twilio callbacks move SMS and WhatsApp further).
DELIVERED_AS = {"web_widget": "delivered", "sms": "delivered", "whatsapp": "read", "api": "sent"}


@dataclass
class DemoSummary:
    users: list[tuple[str, str, bool]] = field(default_factory=list)  # username, password, new
    samples_loaded: int = 0
    samples_seen: int = 0
    sla_seeded: bool = False
    widget_origins: list[str] = field(default_factory=list)


def samples_path() -> Path:
    shared = Path(settings.BASE_DIR).parent / "shared" / "data" / "sample_messages.jsonl"
    return shared if shared.exists() else BUNDLED_SAMPLES


def read_samples(path: Path | None = None) -> list[dict[str, Any]]:
    with (path or samples_path()).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


# --- Configuration ----------------------------------------------------------------------------


def _ensure_agents(summary: DemoSummary) -> dict[str, AbstractBaseUser]:
    users: dict[str, AbstractBaseUser] = {}
    for spec in catalog.AGENTS:
        password = catalog.MANAGER_PASSWORD if spec.is_manager else catalog.AGENT_PASSWORD
        user = User.objects.filter(username=spec.username).first()
        created = user is None
        if created:
            user = User(
                username=spec.username,
                email=f"{spec.username}@relay.example",
                first_name=spec.display_name.split(" ")[0],
                last_name=spec.display_name.split(" ", 1)[-1],
                is_staff=spec.is_manager,
                is_superuser=spec.is_manager,
            )
            user.set_password(password)  # demo logins skip the validators on purpose
            user.save()
        AgentProfile.objects.get_or_create(
            user=user,
            defaults={
                "display_name": spec.display_name,
                "language": spec.language,
                "max_concurrent_conversations": 30 if spec.is_manager else 20,
            },
        )
        users[spec.username] = user
        summary.users.append((spec.username, password, created))
    return users


def _ensure_teams(users: dict[str, AbstractBaseUser]) -> dict[str, Team]:
    teams = {}
    for name, description in catalog.TEAMS.items():
        team, created = Team.objects.get_or_create(name=name, defaults={"description": description})
        if created:
            team.members.set([users[a.username] for a in catalog.AGENTS if name in a.teams])
        teams[name] = team
    return teams


def _ensure_labels() -> dict[str, Label]:
    labels = {}
    for name, title, color in catalog.LABELS:
        labels[name], _ = Label.objects.get_or_create(
            name=name, defaults={"title": title, "color": color}
        )
    return labels


def _ensure_canned(teams: dict[str, Team]) -> dict[str, CannedResponse]:
    canned = {}
    for shortcut, team_name, text in catalog.CANNED:
        team = teams[team_name] if team_name else None
        canned[shortcut], _ = CannedResponse.objects.get_or_create(
            shortcut=shortcut, team=team, defaults={"text": text}
        )
    return canned


def demo_widget_origins(base_url: str) -> list[str]:
    """The pages the demo shop is opened from: PUBLIC_BASE_URL's origin, and the same scheme and
    port on localhost and 127.0.0.1 (`make run` prints localhost; people type either)."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        parts = urlsplit("http://localhost:8000")
    default_port = {"http": 80, "https": 443}[parts.scheme]
    port = f":{parts.port}" if parts.port and parts.port != default_port else ""
    host = parts.hostname.lower() if parts.hostname else "localhost"
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    origins = [f"{parts.scheme}://{h}{port}" for h in (host, "localhost", "127.0.0.1")]
    return list(dict.fromkeys(origins))


def _ensure_channels(teams: dict[str, Team]) -> dict[str, Channel]:
    channels = {}
    for key, kind, name, catalog_settings, credentials in catalog.CHANNELS:
        channel_settings = dict(catalog_settings)
        if kind == "web_widget":
            channel_settings["allowed_origins"] = demo_widget_origins(settings.PUBLIC_BASE_URL)
        channel = Channel.objects.filter(kind=kind, name=name).order_by("pk").first()
        if channel is None:
            channel = Channel.objects.create(
                kind=kind,
                name=name,
                settings=channel_settings,
                credentials=credentials,
                default_team=teams["Support"],
            )
        elif kind == "web_widget" and (
            channel.settings.get("allowed_origins") != channel_settings["allowed_origins"]
        ):
            # The demo's origins follow the port the demo is served on now: a run on another
            # PORT (or PUBLIC_BASE_URL) replaces the previous run's list.
            channel.settings = {
                **channel.settings,
                "allowed_origins": channel_settings["allowed_origins"],
            }
            channel.save(update_fields=["settings", "updated_at"])
        channels[key] = channel
    return channels


def _seed_sla() -> bool:
    """The SLA app seeds its own demo policies when it provides `helpdesk.sla.demo`."""
    if importlib.util.find_spec("helpdesk.sla.demo") is None:
        return False
    module = importlib.import_module("helpdesk.sla.demo")
    seed = getattr(module, "sla_seed_demo", None)
    if seed is None:
        return False
    seed()
    return True


# --- Conversations ----------------------------------------------------------------------------


@dataclass
class _World:
    users: dict[str, AbstractBaseUser]
    teams: dict[str, Team]
    labels: dict[str, Label]
    canned: dict[str, CannedResponse]
    channels: dict[str, Channel]
    manager: AbstractBaseUser


def _customer_for(samples: list[dict[str, Any]]) -> dict[int, catalog.DemoCustomer]:
    """Give each sample its shopper: a fresh one per language, or an earlier sample's."""
    people: dict[int, catalog.DemoCustomer] = {}
    used: dict[str, int] = {}
    for index, sample in enumerate(samples):
        if index in catalog.SAME_CUSTOMER_AS and catalog.SAME_CUSTOMER_AS[index] in people:
            people[index] = people[catalog.SAME_CUSTOMER_AS[index]]
            continue
        lang = sample["lang"]
        pool = catalog.CUSTOMERS.get(lang, ())
        n = used.get(lang, 0)
        used[lang] = n + 1
        if n < len(pool):
            people[index] = pool[n]
        else:  # more samples than named people: still distinct, still reserved addresses
            people[index] = catalog.DemoCustomer(
                f"Demo shopper {index}", f"shopper{index}@example.com", f"+1555019{index:04d}", ""
            )
    return people


def _inbound(index: int, sample: dict[str, Any], person: catalog.DemoCustomer) -> InboundMessage:
    channel = sample["channel"]
    if channel == "widget":
        visitor = person.email.split("@", 1)[0]
        kind, address = IdentityKind.WIDGET_VISITOR, f"demo-visitor-{visitor}"
    elif channel == "email":
        kind, address = IdentityKind.EMAIL, person.email
    elif channel == "whatsapp":
        kind, address = IdentityKind.WHATSAPP, person.phone
    else:
        kind, address = IdentityKind.PHONE, person.phone
    subject = sample["text"].split("\n", 1)[0][:80] if channel == "email" else ""
    return InboundMessage(
        identity_kind=kind,
        identity_address=address,
        text=sample["text"],
        external_id=f"demo-sample-{index}",
        sender_name=person.name,
        locale=sample["lang"],
        subject=subject,
    )


def _complete_customer(customer: Customer, person: catalog.DemoCustomer) -> None:
    identity_attach(customer=customer, kind=IdentityKind.EMAIL, address=person.email)
    identity_attach(customer=customer, kind=IdentityKind.PHONE, address=person.phone)
    if person.time_zone and not customer.time_zone:
        customer_update(customer=customer, time_zone=person.time_zone)


def _agent_for(world: _World, index: int, lang: str) -> AbstractBaseUser:
    username = catalog.AGENT_FOR_LANGUAGE.get(lang)
    if username is None:
        username = catalog.ENGLISH_ROTATION[index % len(catalog.ENGLISH_ROTATION)]
    return world.users[username]


def _reply(world: _World, conversation: Conversation, agent: AbstractBaseUser, index: int) -> None:
    conversation = Conversation.objects.select_related("customer", "channel").get(
        pk=conversation.pk
    )
    lang = conversation.customer.locale or "en"
    template = world.canned[catalog.GREETING_FOR_LANGUAGE.get(lang, "hello")]
    text = canned_render(template.text, canned_variables(conversation=conversation, agent=agent))
    message = message_send_reply(conversation=conversation, author=agent, text=text)
    kind = conversation.channel.kind
    # Record what the provider reported inside this transaction: the delivery job queued on
    # commit then finds the message already handed over and does nothing (no real provider).
    failure = catalog.FAILED_DELIVERY.get(index)
    external_id = f"SMdemo{index:026d}" if kind in ("sms", "whatsapp") else None
    if failure is not None:
        message_update_delivery_status(
            message_id=message.pk,
            status="failed",
            external_id=external_id,
            error_code=failure[0],
            error_message=failure[1],
        )
    elif kind in DELIVERED_AS:
        message_update_delivery_status(
            message_id=message.pk, status=DELIVERED_AS[kind], external_id=external_id
        )


def _play_scenario(
    world: _World, conversation: Conversation, sample: dict[str, Any], index: int
) -> None:
    scenario = catalog.SCENARIOS.get(sample.get("intent", ""), {})
    by = world.manager
    agent = _agent_for(world, index, sample["lang"])
    if team := scenario.get("team"):
        conversation_set_team(conversation=conversation, team=world.teams[str(team)], by=by)
    for name in scenario.get("labels", ()):  # type: ignore[union-attr]
        conversation_add_label(conversation=conversation, label=world.labels[name], by=by)
    if priority := scenario.get("priority"):
        conversation_set_priority(conversation=conversation, priority=int(priority), by=by)
    if scenario.get("assign", True):
        conversation_assign(conversation=conversation, assignee=agent, by=by)
    if note := scenario.get("note"):
        note_create(conversation=conversation, author=agent, text=str(note))
    can_reply = conversation.channel.kind != "email"  # email delivery is not configured yet
    if scenario.get("reply") and can_reply:
        _reply(world, conversation, agent, index)
    status = scenario.get("status")
    if status == "pending" and not can_reply:
        status = None  # nothing was asked of the customer
    if status:
        until = timezone.now() + timedelta(days=1) if status == "snoozed" else None
        conversation_change_status(
            conversation=conversation, status=str(status), by=agent, snoozed_until=until
        )


def _load_sample(
    world: _World, index: int, sample: dict[str, Any], person: catalog.DemoCustomer
) -> bool:
    channel = world.channels[SAMPLE_CHANNEL.get(sample.get("channel", ""), "widget")]
    with transaction.atomic():
        result = message_receive_inbound(channel=channel, inbound=_inbound(index, sample, person))
        if not result.created:
            return False
        conversation = Conversation.objects.select_related("channel", "customer").get(
            pk=result.message.conversation_id
        )
        _complete_customer(conversation.customer, person)
        _play_scenario(world, conversation, sample, index)
    return True


def demo_load(*, samples: list[dict[str, Any]] | None = None) -> DemoSummary:
    """Create whatever part of the demo is missing. Safe to run any number of times."""
    summary = DemoSummary()
    with transaction.atomic():
        users = _ensure_agents(summary)
        teams = _ensure_teams(users)
        world = _World(
            users=users,
            teams=teams,
            labels=_ensure_labels(),
            canned=_ensure_canned(teams),
            channels=_ensure_channels(teams),
            manager=users["manager"],
        )
    summary.widget_origins = list(world.channels["widget"].settings["allowed_origins"])
    summary.sla_seeded = _seed_sla()
    samples = read_samples() if samples is None else samples
    people = _customer_for(samples)
    for index, sample in enumerate(samples):
        summary.samples_seen += 1
        if _load_sample(world, index, sample, people[index]):
            summary.samples_loaded += 1
    return summary
