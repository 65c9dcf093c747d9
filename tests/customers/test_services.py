from __future__ import annotations

import pytest
from django.utils import timezone

from helpdesk.conversations.models import Conversation
from helpdesk.core.errors import DomainError
from helpdesk.customers.identities import normalize_address
from helpdesk.customers.models import ChannelOptOut, ContactIdentity, Customer
from helpdesk.customers.services import (
    customer_get_or_create_by_identity,
    customer_merge,
    identity_attach,
)
from tests.support import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("kind", "raw", "normalized"),
    [
        ("email", "  Ana@Example.TEST ", "ana@example.test"),
        ("phone", "+47 900 00 001", "+4790000001"),
        ("whatsapp", "whatsapp:+4790000001", "+4790000001"),
        ("phone", "0047 900-00-001", "+4790000001"),
        ("widget_visitor", " v-123 ", "v-123"),
    ],
)
def test_normalize_address(kind, raw, normalized):
    assert normalize_address(kind, raw) == normalized


def test_customer_get_or_create_by_identity_is_one_customer_per_address():
    a, created_a = customer_get_or_create_by_identity(kind="email", address="Ana@Example.test")
    b, created_b = customer_get_or_create_by_identity(kind="email", address="ana@example.test ")
    assert created_a and not created_b and a.pk == b.pk
    assert ContactIdentity.objects.count() == 1


def test_customer_get_or_create_by_identity_fills_missing_name():
    customer, _ = customer_get_or_create_by_identity(kind="phone", address="+4790000001")
    customer, _ = customer_get_or_create_by_identity(
        kind="phone", address="+4790000001", name="Ingrid"
    )
    assert customer.name == "Ingrid"


def test_identity_attach_refuses_someone_elses_address():
    factories.IdentityFactory(kind="email", address="taken@example.test")
    with pytest.raises(DomainError):
        identity_attach(
            customer=factories.CustomerFactory(), kind="email", address="TAKEN@example.test"
        )


def test_customer_merge_moves_all_history_and_leaves_tombstone(events):
    channel = factories.ChannelFactory(kind="sms")
    source = factories.CustomerFactory(name="", custom_attributes={"tier": "gold", "city": "Oslo"})
    target = factories.CustomerFactory(name="Maya", custom_attributes={"tier": "silver"})
    factories.IdentityFactory(customer=source, kind="phone", address="+4790000002")
    factories.IdentityFactory(customer=target, kind="email", address="maya@example.test")
    factories.ConversationFactory(customer=source, channel=channel)
    factories.ConversationFactory(customer=target, channel=channel)
    ChannelOptOut.objects.create(customer=source, channel=channel, opted_out_at=timezone.now())
    ChannelOptOut.objects.create(customer=target, channel=channel, opted_out_at=timezone.now())

    merged = customer_merge(source=source, target=target)

    assert merged.pk == target.pk
    assert Conversation.objects.filter(customer=target).count() == 2
    assert set(target.identities.values_list("kind", flat=True)) == {"phone", "email"}
    assert ChannelOptOut.objects.filter(customer=target).count() == 1
    merged.refresh_from_db()
    assert merged.custom_attributes == {"tier": "silver", "city": "Oslo"}
    source.refresh_from_db()
    assert source.merged_into_id == target.pk
    # the tombstone resolves to the surviving customer
    found, created = customer_get_or_create_by_identity(kind="phone", address="+4790000002")
    assert found.pk == target.pk and not created
    assert "customer.merged" in events.types()


def test_customer_merge_refuses_self_and_merged():
    customer = factories.CustomerFactory()
    with pytest.raises(DomainError):
        customer_merge(source=customer, target=customer)
    other, third = factories.CustomerFactory(), factories.CustomerFactory()
    customer_merge(source=customer, target=other)
    with pytest.raises(DomainError):
        customer_merge(source=customer, target=third)
    assert Customer.objects.get(pk=customer.pk).merged_into_id == other.pk


def test_customer_update_changes_only_given_fields_and_validates_time_zone(events):
    from helpdesk.customers.services import customer_update

    customer = factories.CustomerFactory(name="Ana", locale="es")
    customer = customer_update(customer=customer, time_zone="Europe/Madrid")
    assert (customer.name, customer.locale, customer.time_zone) == ("Ana", "es", "Europe/Madrid")
    assert events.types() == ["customer.updated"]
    customer_update(customer=customer, time_zone="Europe/Madrid")  # no change, no event
    assert events.types() == ["customer.updated"]
    with pytest.raises(DomainError):
        customer_update(customer=customer, time_zone="Mars/Olympus")


def test_customer_get_or_create_by_identity_default_still_matches_unverified():
    # SMS, WhatsApp and email keep their behaviour: any identity of the address matches.
    holder = factories.IdentityFactory(kind="phone", address="+4790000003").customer
    found, created = customer_get_or_create_by_identity(
        kind="whatsapp", address="+4790000003", verified=True
    )
    assert found.pk == holder.pk and not created


def test_customer_get_or_create_by_identity_verified_only_takes_over_unverified():
    channel = factories.ChannelFactory(kind="web_widget")
    claimer = factories.IdentityFactory(kind="email", address="ada@example.test").customer
    factories.ConversationFactory(customer=claimer, channel=channel)

    owner, created = customer_get_or_create_by_identity(
        kind="email", address="Ada@Example.test", name="Ada", verified=True, verified_only=True
    )

    assert created and owner.pk != claimer.pk and owner.name == "Ada"
    identity = ContactIdentity.objects.get(kind="email", address="ada@example.test")
    assert identity.customer_id == owner.pk and identity.verified
    assert Conversation.objects.filter(customer=claimer).count() == 1
    assert Conversation.objects.filter(customer=owner).count() == 0
    again, created_again = customer_get_or_create_by_identity(
        kind="email", address="ada@example.test", verified=True, verified_only=True
    )
    assert again.pk == owner.pk and not created_again


def test_customer_get_or_create_by_identity_verified_only_finds_verified_owner():
    owner = factories.IdentityFactory(
        kind="email", address="bo@example.test", verified=True
    ).customer
    found, created = customer_get_or_create_by_identity(
        kind="email", address="bo@example.test", verified=True, verified_only=True
    )
    assert found.pk == owner.pk and not created


def test_identity_attach_take_over_moves_only_unverified_addresses():
    customer = factories.CustomerFactory()
    factories.IdentityFactory(kind="email", address="free@example.test")
    moved = identity_attach(
        customer=customer,
        kind="email",
        address="free@example.test",
        verified=True,
        take_over_unverified=True,
    )
    assert moved.customer_id == customer.pk and moved.verified
    factories.IdentityFactory(kind="email", address="proven@example.test", verified=True)
    with pytest.raises(DomainError):
        identity_attach(
            customer=customer,
            kind="email",
            address="proven@example.test",
            verified=True,
            take_over_unverified=True,
        )
    with pytest.raises(DomainError):  # without the keyword nothing changes
        identity_attach(customer=factories.CustomerFactory(), kind="email",
                        address="free@example.test", verified=True)
