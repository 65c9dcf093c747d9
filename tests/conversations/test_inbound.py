from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from helpdesk.conversations.models import Conversation, Message
from helpdesk.conversations.services import (
    InboundAttachment,
    InboundMessage,
    conversation_change_status,
    message_receive_inbound,
)
from helpdesk.core.errors import DomainError
from helpdesk.customers.models import ContactIdentity, Customer
from tests.support import factories

pytestmark = pytest.mark.django_db


def sms(text: str = "hello", sid: str | None = "SM1", phone: str = "+4790000001") -> InboundMessage:
    return InboundMessage(
        identity_kind="phone", identity_address=phone, text=text, external_id=sid
    )


@pytest.fixture
def sms_channel():
    return factories.ChannelFactory(kind="sms", name="SMS")


def test_message_receive_inbound_creates_customer_conversation_and_message(sms_channel, events):
    result = message_receive_inbound(channel=sms_channel, inbound=sms())
    assert result.created and result.conversation_created
    message = result.message
    assert message.direction == "inbound" and message.sender_type == "customer"
    conversation = message.conversation
    assert conversation.status == "open"
    assert conversation.waiting_since is not None
    assert conversation.last_inbound_at is not None
    identity = ContactIdentity.objects.get(kind="phone", address="+4790000001")
    assert identity.customer_id == conversation.customer_id
    assert "conversation.created" in events.types()
    assert "message.created" in events.types()


def test_message_receive_inbound_is_idempotent_on_provider_id(sms_channel):
    first = message_receive_inbound(channel=sms_channel, inbound=sms())
    second = message_receive_inbound(channel=sms_channel, inbound=sms(text="changed"))
    assert not second.created
    assert second.message.pk == first.message.pk
    assert Message.objects.filter(kind="message").count() == 1


def test_message_receive_inbound_same_provider_id_on_another_channel_is_new(sms_channel):
    other = factories.ChannelFactory(kind="sms")
    message_receive_inbound(channel=sms_channel, inbound=sms())
    result = message_receive_inbound(channel=other, inbound=sms())
    assert result.created


def test_message_receive_inbound_continues_open_conversation(sms_channel):
    first = message_receive_inbound(channel=sms_channel, inbound=sms(sid="SM1"))
    second = message_receive_inbound(channel=sms_channel, inbound=sms(sid="SM2"))
    assert second.message.conversation_id == first.message.conversation_id
    assert not second.conversation_created


def test_message_receive_inbound_reopens_recently_resolved(sms_channel, agent):
    first = message_receive_inbound(channel=sms_channel, inbound=sms(sid="SM1"))
    conversation_change_status(conversation=first.message.conversation, status="resolved", by=agent)
    second = message_receive_inbound(channel=sms_channel, inbound=sms(sid="SM2"))
    conversation = Conversation.objects.get(pk=first.message.conversation_id)
    assert second.message.conversation_id == conversation.pk
    assert conversation.status == "open" and conversation.resolved_at is None
    assert conversation.messages.filter(
        kind="activity", content_attributes__event="reopened_by_customer"
    ).exists()


def test_message_receive_inbound_starts_new_conversation_after_reopen_window(sms_channel, agent):
    first = message_receive_inbound(channel=sms_channel, inbound=sms(sid="SM1"))
    conversation_change_status(conversation=first.message.conversation, status="resolved", by=agent)
    Conversation.objects.filter(pk=first.message.conversation_id).update(
        resolved_at=timezone.now() - timedelta(hours=sms_channel.reopen_window_hours + 1)
    )
    second = message_receive_inbound(channel=sms_channel, inbound=sms(sid="SM2"))
    assert second.conversation_created
    assert second.message.conversation_id != first.message.conversation_id
    assert second.message.conversation.customer_id == first.message.conversation.customer_id


def test_message_receive_inbound_wakes_snoozed(sms_channel, agent):
    first = message_receive_inbound(channel=sms_channel, inbound=sms(sid="SM1"))
    conversation_change_status(
        conversation=first.message.conversation,
        status="snoozed",
        by=agent,
        snoozed_until=timezone.now() + timedelta(days=1),
    )
    message_receive_inbound(channel=sms_channel, inbound=sms(sid="SM2"))
    conversation = Conversation.objects.get(pk=first.message.conversation_id)
    assert conversation.status == "open" and conversation.snoozed_until is None


def test_message_receive_inbound_links_whatsapp_to_same_phone_customer(sms_channel):
    wa = factories.ChannelFactory(kind="whatsapp")
    a = message_receive_inbound(channel=sms_channel, inbound=sms(phone="+47 900 00 001"))
    b = message_receive_inbound(
        channel=wa,
        inbound=InboundMessage(
            identity_kind="whatsapp",
            identity_address="whatsapp:+4790000001",
            text="hi on WA",
            external_id="SMwa",
        ),
    )
    assert a.message.conversation.customer_id == b.message.conversation.customer_id
    assert Customer.objects.count() == 1
    assert ContactIdentity.objects.filter(kind="whatsapp", address="+4790000001").exists()


def test_message_receive_inbound_refused_attachment_leaves_placeholder(sms_channel, settings):
    settings.ATTACHMENT_MAX_BYTES = 10
    result = message_receive_inbound(
        channel=sms_channel,
        inbound=InboundMessage(
            identity_kind="phone",
            identity_address="+4790000002",
            text="",
            external_id="SMx",
            attachments=(
                InboundAttachment(content_type="image/png", content=b"x" * 100, filename="a.png"),
                InboundAttachment(content_type="application/x-msdownload", content=b"MZ"),
            ),
        ),
    )
    statuses = sorted(a.status for a in result.message.attachments.all())
    assert statuses == ["refused", "refused"]
    assert all(a.error for a in result.message.attachments.all())


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgres
def test_message_receive_inbound_concurrent_duplicates_store_one(sms_channel):
    results = []
    errors = []
    barrier = threading.Barrier(4)

    def deliver() -> None:
        try:
            barrier.wait()
            results.append(message_receive_inbound(channel=sms_channel, inbound=sms(sid="SMrace")))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r.created for r in results) == 1
    assert Message.objects.filter(external_id="SMrace").count() == 1
    assert Customer.objects.count() == 1
    assert Conversation.objects.count() == 1


def test_message_receive_inbound_new_conversation_starts_one_while_another_is_open(sms_channel):
    first = message_receive_inbound(channel=sms_channel, inbound=sms(sid="SM1"))
    second = message_receive_inbound(
        channel=sms_channel, inbound=sms(sid="SM2"), new_conversation=True
    )
    assert second.conversation_created
    assert second.message.conversation_id != first.message.conversation_id
    # The default still continues the latest open conversation.
    third = message_receive_inbound(channel=sms_channel, inbound=sms(sid="SM3"))
    assert third.message.conversation_id == second.message.conversation_id
    assert Conversation.objects.get(pk=first.message.conversation_id).status == "open"


def test_message_receive_inbound_new_conversation_with_a_conversation_id_is_refused(sms_channel):
    first = message_receive_inbound(channel=sms_channel, inbound=sms(sid="SM1"))
    inbound = InboundMessage(
        identity_kind="phone",
        identity_address="+4790000001",
        text="x",
        external_id="SM2",
        conversation_id=first.message.conversation_id,
    )
    with pytest.raises(DomainError):
        message_receive_inbound(channel=sms_channel, inbound=inbound, new_conversation=True)


def test_message_receive_inbound_stores_files_under_a_server_name(sms_channel):
    attachment = InboundAttachment(
        content_type="application/pdf", filename="../invoice.html", content=b"%PDF-1.4 x"
    )
    inbound = InboundMessage(
        identity_kind="email",
        identity_address="ana@example.test",
        text="see attached",
        external_id="MAIL1",
        attachments=(attachment,),
    )
    stored = message_receive_inbound(channel=sms_channel, inbound=inbound).message
    saved = stored.attachments.get()
    assert saved.filename == "../invoice.html"  # display text, escaped wherever it is shown
    assert saved.file.name.startswith("attachments/") and saved.file.name.endswith(".pdf")
    assert "invoice" not in saved.file.name and ".." not in saved.file.name


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_message_receive_inbound_racing_a_merge_lands_on_the_survivor(sms_channel):
    """The identity lookup sees the customer about to be merged away; the message still lands
    on the surviving customer once the merge commits."""
    from helpdesk.customers.services import customer_merge

    source = message_receive_inbound(channel=sms_channel, inbound=sms(sid="SMm1"))
    source_customer = source.message.conversation.customer
    target = factories.CustomerFactory(name="Survivor")
    merged = threading.Event()
    results, errors = [], []

    def merge() -> None:
        try:
            with transaction.atomic():
                customer_merge(source=source_customer, target=target)
                merged.set()
                time.sleep(0.5)  # hold the locks while the message arrives
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            merged.set()
            connection.close()

    def deliver() -> None:
        try:
            merged.wait(5)
            results.append(message_receive_inbound(channel=sms_channel, inbound=sms(sid="SMm2")))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=merge), threading.Thread(target=deliver)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results[0].message.conversation.customer_id == target.pk
