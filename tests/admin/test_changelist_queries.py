"""Admin list pages run a constant number of queries, however many rows they show."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.support import factories

pytestmark = pytest.mark.django_db


def make_customer(i: int) -> None:
    customer = factories.CustomerFactory()
    factories.IdentityFactory(customer=customer, kind="email")
    factories.IdentityFactory(customer=customer, kind="phone", address=f"+4790{i:06d}")
    factories.ConversationFactory(customer=customer)


def make_conversation(i: int) -> None:
    agent = factories.AgentFactory()
    team = factories.TeamFactory()
    conversation = factories.ConversationFactory(assignee=agent, team=team)
    conversation.labels.set([factories.LabelFactory(), factories.LabelFactory()])
    factories.MessageFactory(conversation=conversation)


def make_message(i: int) -> None:
    agent = factories.AgentFactory()
    factories.MessageFactory(
        direction="outbound", sender_type="agent", sender_user=agent, delivery_status="sent"
    )


def make_team(i: int) -> None:
    team = factories.TeamFactory()
    team.members.set([factories.AgentFactory(), factories.AgentFactory()])


def make_agent(i: int) -> None:
    agent = factories.AgentFactory()
    factories.TeamFactory().members.add(agent)
    factories.ConversationFactory(assignee=agent)


def make_label(i: int) -> None:
    label = factories.LabelFactory()
    factories.ConversationFactory().labels.add(label)


def make_canned(i: int) -> None:
    factories.CannedResponseFactory(team=factories.TeamFactory())


def make_channel(i: int) -> None:
    factories.ConversationFactory(channel=factories.ChannelFactory(kind="sms"))


def make_attachment(i: int) -> None:
    from helpdesk.conversations.models import Attachment

    Attachment.objects.create(
        message=factories.MessageFactory(), filename=f"f{i}.png", content_type="image/png"
    )


def make_opt_out(i: int) -> None:
    from helpdesk.customers.models import ChannelOptOut

    ChannelOptOut.objects.create(
        customer=factories.CustomerFactory(),
        channel=factories.ChannelFactory(kind="sms"),
        opted_out_at=timezone.now(),
    )


def make_event(i: int) -> None:
    from helpdesk.core.models import RealtimeEvent

    RealtimeEvent.objects.create(group=f"inbox.{i}", type="message.created", payload={"v": 1})


def make_heartbeat(i: int) -> None:
    from helpdesk.core.models import WorkerHeartbeat

    WorkerHeartbeat.objects.create(name=f"worker-{i}", beat_at=timezone.now())


def make_template(i: int) -> None:
    from channels_app.models import WhatsAppTemplate

    WhatsAppTemplate.objects.create(
        channel=factories.ChannelFactory(kind="whatsapp"), name=f"t{i}", content_sid="HX" + "a" * 32
    )


def make_attempt(i: int) -> None:
    from channels_app.models import OutboundAttempt

    OutboundAttempt.objects.create(
        message=factories.MessageFactory(direction="outbound", sender_type="agent"), state="done"
    )


def make_status_event(i: int) -> None:
    from channels_app.models import TwilioStatusEvent

    TwilioStatusEvent.objects.create(
        channel=factories.ChannelFactory(kind="sms"), message_sid=f"SM{i:032d}", status="sent"
    )


def make_raw_inbound(i: int) -> None:
    from channels_app.models import RawInbound

    RawInbound.objects.create(
        channel=factories.ChannelFactory(kind="sms"),
        kind="twilio.message",
        external_id=f"SM{i:032d}",
        order_key=f"k{i}",
        payload={"params": {}},
    )


def make_notification(i: int) -> None:
    from helpdesk.notifications.services import notification_create

    notification_create(
        recipient_ids=[factories.AgentFactory().pk],
        kind="assigned",
        key=f"n{i}",
        conversation=factories.ConversationFactory(),
    )


def make_calendar(i: int) -> None:
    from tests.sla.support import office_calendar

    office_calendar(name=f"Office {i}")


def make_policy(i: int) -> None:
    from tests.sla.support import office_calendar, policy, rule

    made = policy(name=f"Policy {i}", is_default=False, calendar=office_calendar(f"Cal {i}"))
    rule(made, position=i, channel=factories.ChannelFactory())


def make_sla_event(i: int) -> None:
    from helpdesk.sla.models import SLAEvent

    conversation = factories.ConversationFactory(team=factories.TeamFactory())
    SLAEvent.objects.create(
        conversation=conversation,
        target="first_response",
        kind="breached",
        occurred_at=timezone.now(),
        channel=conversation.channel,
        team=conversation.team,
    )


CASES: list[tuple[str, Callable[[int], None]]] = [
    ("admin:customers_customer_changelist", make_customer),
    ("admin:conversations_conversation_changelist", make_conversation),
    ("admin:conversations_message_changelist", make_message),
    ("admin:agents_team_changelist", make_team),
    ("admin:auth_user_changelist", make_agent),
    ("admin:agents_agentprofile_changelist", make_agent),
    ("admin:conversations_label_changelist", make_label),
    ("admin:conversations_cannedresponse_changelist", make_canned),
    ("admin:customers_contactidentity_changelist", make_customer),
    ("admin:customers_channeloptout_changelist", make_opt_out),
    ("admin:inboxes_channel_changelist", make_channel),
    ("admin:conversations_attachment_changelist", make_attachment),
    ("admin:core_realtimeevent_changelist", make_event),
    ("admin:core_workerheartbeat_changelist", make_heartbeat),
    ("admin:channels_app_whatsapptemplate_changelist", make_template),
    ("admin:channels_app_outboundattempt_changelist", make_attempt),
    ("admin:channels_app_twiliostatusevent_changelist", make_status_event),
    ("admin:channels_app_rawinbound_changelist", make_raw_inbound),
    ("admin:notifications_notification_changelist", make_notification),
    ("admin:sla_businesscalendar_changelist", make_calendar),
    ("admin:sla_slapolicy_changelist", make_policy),
    ("admin:sla_slarule_changelist", make_policy),
    ("admin:sla_slaevent_changelist", make_sla_event),
]
# Third-party admins (django-q2's task lists, auth groups) are theirs to keep fast.
NOT_OURS = {"auth.group", "django_q.failure", "django_q.ormq", "django_q.schedule"}
NOT_OURS |= {"django_q.success"}


def test_every_admin_list_page_is_covered():
    from django.contrib import admin

    covered = {name.split(":")[1].rsplit("_", 1)[0] for name, _ in CASES}
    registered = {
        f"{m._meta.app_label}_{m._meta.model_name}"
        for m in admin.site._registry
        if m._meta.label_lower not in NOT_OURS
    }
    assert registered <= covered, f"add a query-count case for {sorted(registered - covered)}"


def count_queries(client, url: str, expected_rows: int) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    assert response.context["cl"].result_count >= expected_rows
    return len(captured)


@pytest.mark.parametrize(("url_name", "make"), CASES, ids=[c[0].split(":")[1] for c in CASES])
def test_admin_changelist_query_count_is_constant(client, manager, url_name, make):
    client.force_login(manager)
    url = reverse(url_name)
    for i in range(3):
        make(i)
    with_3 = count_queries(client, url, 3)
    for i in range(3, 30):
        make(i)
    with_30 = count_queries(client, url, 30)
    assert with_30 == with_3, f"{url_name}: {with_3} queries for 3 rows, {with_30} for 30"
