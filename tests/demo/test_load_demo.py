"""`manage.py load_demo`: a complete, multilingual demo that is safe to load twice."""

from __future__ import annotations

import io
import time

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from helpdesk.agents.models import AgentProfile, Team
from helpdesk.conversations.models import CannedResponse, Conversation, Label, Message
from helpdesk.core.models import RealtimeEvent
from helpdesk.customers.models import ContactIdentity, Customer
from helpdesk.demo import loader
from helpdesk.inboxes.models import Channel

pytestmark = pytest.mark.django_db

User = get_user_model()
LANGUAGES = {"en", "es", "fr", "it", "nb", "ar"}
COUNTED = [
    User,
    AgentProfile,
    Team,
    Label,
    CannedResponse,
    Channel,
    Customer,
    ContactIdentity,
    Conversation,
    Message,
    RealtimeEvent,
]


def counts() -> dict[str, int]:
    return {model.__name__: model.objects.count() for model in COUNTED}


def load() -> str:
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    return out.getvalue()


def test_load_demo_twice_creates_nothing_new_and_prints_logins():
    started = time.monotonic()
    first_output = load()
    assert time.monotonic() - started < 10
    after_first = counts()
    assert after_first["Conversation"] >= 30

    second_output = load()
    assert counts() == after_first
    assert "0 new of 40" in second_output
    for output in (first_output, second_output):
        assert "manager    manager-demo-pass" in output
        assert "amina      agent-demo-pass" in output


def test_load_demo_builds_a_realistic_multilingual_helpdesk(client):
    load()
    # People: a manager who is also an agent, agents across the six languages, two teams.
    manager = User.objects.get(username="manager")
    assert manager.is_staff and manager.is_superuser and manager.agent_profile.display_name
    assert set(AgentProfile.objects.values_list("language", flat=True)) == LANGUAGES
    assert set(Team.objects.values_list("name", flat=True)) == {"Support", "Returns"}
    assert Team.objects.get(name="Returns").members.filter(username="sofia").exists()
    assert client.login(username="amina", password="agent-demo-pass")

    # Configuration: labels, canned responses with variables, one channel of each kind.
    assert {"order-status", "returns", "refund", "payment", "vip"} <= set(
        Label.objects.values_list("name", flat=True)
    )
    assert CannedResponse.objects.filter(text__contains="{{customer.first_name}}").count() >= 6
    assert CannedResponse.objects.filter(team__name="Returns").exists()
    kinds = sorted(Channel.objects.values_list("kind", flat=True))
    assert kinds == ["api", "email", "sms", "web_widget", "whatsapp"]
    widget = Channel.objects.get(kind="web_widget")
    assert widget.settings["reply_time_minutes"] == 120
    assert "http://localhost:8000" in widget.settings["allowed_origins"]
    sms = Channel.objects.get(kind="sms")
    assert set(sms.credentials) == {"account_sid", "auth_token", "sender", "messaging_service_sid"}
    assert sms.credentials["account_sid"].startswith("ACdemo")

    # Customers in all six languages, with email and phone identities and a time zone.
    assert set(Customer.objects.values_list("locale", flat=True)) == LANGUAGES
    customer = Customer.objects.get(name="Lucía Fernández")
    assert customer.time_zone == "Europe/Madrid"
    assert {"email", "phone", "whatsapp"} <= set(customer.identities.values_list("kind", flat=True))
    # The same shopper writes from the widget and by email: one customer, two conversations.
    maya = Customer.objects.get(name="Maya Thompson")
    maya_channels = sorted(maya.conversations.values_list("channel__kind", flat=True))
    assert maya_channels == ["email", "web_widget"]

    # Conversations in every state, built by the services (activity lines recorded).
    statuses = set(Conversation.objects.values_list("status", flat=True))
    assert statuses == {"open", "pending", "snoozed", "resolved"}
    assert Conversation.objects.filter(assignee__isnull=True).exists()
    assert Conversation.objects.filter(assignee__username="lucas").exists()
    assert Conversation.objects.filter(team__name="Returns").exists()
    assert Conversation.objects.filter(priority=4, labels__name="payment").exists()
    assert Message.objects.filter(kind="note").exists()
    events = set(
        Message.objects.filter(kind="activity").values_list("content_attributes__event", flat=True)
    )
    assert {"assigned", "status_changed", "labels_changed", "priority_changed"} <= events
    # Agent replies in the customer's language, with variables filled and delivery recorded.
    reply = Message.objects.filter(
        direction="outbound", conversation__customer__name="Lucía Fernández"
    ).first()
    assert reply is not None and reply.text.startswith("Hola Lucía, soy Lucas García.")
    assert reply.delivery_status == "read"  # WhatsApp
    failed = Message.objects.get(direction="outbound", delivery_status="failed")
    assert failed.error_code == "30003" and failed.channel.kind == "sms"
    assert not Message.objects.filter(direction="outbound", delivery_status="pending").exists()


def test_samples_path_prefers_shared_data_and_falls_back_to_the_bundled_copy(settings, tmp_path):
    assert loader.samples_path().exists()
    settings.BASE_DIR = tmp_path / "nowhere"
    assert loader.samples_path() == loader.BUNDLED_SAMPLES
    samples = loader.read_samples(loader.BUNDLED_SAMPLES)
    assert {s["lang"] for s in samples} == LANGUAGES


def test_load_demo_refuses_outside_development(settings):
    from django.core.management import CommandError, call_command

    settings.DEMO_ENABLED = False
    with pytest.raises(CommandError, match="published passwords"):
        call_command("load_demo")


def _widget_session(channel: Channel, origin: str) -> int:
    from django.test import Client

    response = Client(HTTP_ORIGIN=origin).post(
        f"/widget/api/{channel.public_id}/session", {}, content_type="application/json"
    )
    return response.status_code


def test_load_demo_widget_origins_follow_the_port_it_is_served_on(settings):
    settings.PUBLIC_BASE_URL = "http://localhost:8123"
    output = load()
    widget = Channel.objects.get(kind="web_widget")
    assert widget.settings["allowed_origins"] == ["http://localhost:8123", "http://127.0.0.1:8123"]
    assert "accepts pages from: http://localhost:8123, http://127.0.0.1:8123" in output
    assert _widget_session(widget, "http://127.0.0.1:8123") == 200
    assert _widget_session(widget, "http://localhost:8000") == 403

    # Another port on the next run: the same channel, its origins replaced.
    settings.PUBLIC_BASE_URL = "http://localhost:8000"
    loader.demo_load(samples=[])
    assert Channel.objects.filter(kind="web_widget").count() == 1
    widget.refresh_from_db()
    assert widget.settings["allowed_origins"] == ["http://localhost:8000", "http://127.0.0.1:8000"]
    assert widget.settings["reply_time_minutes"] == 120
    assert _widget_session(widget, "http://localhost:8000") == 200
    assert _widget_session(widget, "http://localhost:8123") == 403


def test_demo_widget_origins_add_loopback_names_on_the_same_scheme_and_port():
    assert loader.demo_widget_origins("http://192.168.1.5:8123/") == [
        "http://192.168.1.5:8123",
        "http://localhost:8123",
        "http://127.0.0.1:8123",
    ]
    assert loader.demo_widget_origins("https://Relay.Example.com") == [
        "https://relay.example.com",
        "https://localhost",
        "https://127.0.0.1",
    ]
    assert loader.demo_widget_origins("http://[::1]:9000") == [
        "http://[::1]:9000",
        "http://localhost:9000",
        "http://127.0.0.1:9000",
    ]
    assert loader.demo_widget_origins("not a url") == [
        "http://localhost:8000",
        "http://127.0.0.1:8000",
    ]
