"""Customer writes: find-or-create by identity, attach identities, merge."""

from __future__ import annotations

from django.apps import apps
from django.db import IntegrityError, models, transaction

from helpdesk.core.errors import DomainError
from helpdesk.core.realtime import broadcast_on_commit, customer_group
from helpdesk.customers.identities import SIBLING_KINDS, normalize_address
from helpdesk.customers.models import ChannelOptOut, ContactIdentity, Customer


def customer_find_by_identity(*, kind: str, address: str) -> Customer | None:
    address = normalize_address(kind, address)
    identity = (
        ContactIdentity.objects.select_related("customer")
        .filter(kind=kind, address=address)
        .first()
    )
    if identity is None and kind in SIBLING_KINDS:
        identity = (
            ContactIdentity.objects.select_related("customer")
            .filter(kind=SIBLING_KINDS[kind], address=address)
            .first()
        )
    return identity.customer if identity else None


def customer_get_or_create_by_identity(
    *,
    kind: str,
    address: str,
    name: str = "",
    locale: str = "",
    verified: bool = False,
    verified_only: bool = False,
) -> tuple[Customer, bool]:
    """Return the customer behind (kind, address), creating customer and identity if new.

    Safe under concurrency: the (kind, address) unique constraint decides a race, and the loser
    reads the winner's row. A phone number also finds the WhatsApp identity of the same number
    (and vice versa); the missing sibling identity is then added to that customer.

    `verified_only=True` is for a proven claim (a shop-signed widget identity): the address then
    resolves only through a *verified* identity. An unverified identity of that address is taken
    over by a new customer (moved there and marked verified); the customer that held it keeps
    its conversations. So nobody can pre-claim an address and collect its owner's history.
    """
    address = normalize_address(kind, address)
    if not address:
        raise DomainError("An identity needs an address.", code="missing_address")
    if verified_only:
        return _get_or_create_verified(kind=kind, address=address, name=name, locale=locale)
    for _attempt in range(2):
        customer = customer_find_by_identity(kind=kind, address=address)
        if customer is not None:
            if not ContactIdentity.objects.filter(kind=kind, address=address).exists():
                identity_attach(customer=customer, kind=kind, address=address, verified=verified)
            _fill_name(customer, name)
            return _follow_merge(customer), False
        try:
            with transaction.atomic():
                customer = Customer.objects.create(name=name[:200], locale=locale)
                ContactIdentity.objects.create(
                    customer=customer, kind=kind, address=address, verified=verified
                )
            return customer, True
        except IntegrityError:
            continue  # another request created it first: read theirs
    raise DomainError("Could not resolve the customer identity.", code="identity_race")


def _fill_name(customer: Customer, name: str) -> None:
    """A name learnt from a channel fills an empty one; it never overwrites what is there."""
    if name and not customer.name:
        customer.name = name[:200]
        customer.save(update_fields=["name", "updated_at"])


class _LostRace(Exception):
    """Another request attached the address between our read and our write."""


def _get_or_create_verified(
    *, kind: str, address: str, name: str, locale: str
) -> tuple[Customer, bool]:
    for _attempt in range(2):
        identity = (
            ContactIdentity.objects.select_related("customer")
            .filter(kind=kind, address=address, verified=True)
            .first()
        )
        if identity is not None:
            customer = identity.customer
            _fill_name(customer, name)
            return _follow_merge(customer), False
        try:
            with transaction.atomic():
                customer = Customer.objects.create(name=name[:200], locale=locale)
                identity = identity_attach(
                    customer=customer, kind=kind, address=address, verified=True,
                    take_over_unverified=True,
                )
                if identity.customer_id != customer.pk:
                    raise _LostRace
            return customer, True
        except (IntegrityError, DomainError, _LostRace):
            continue  # another proven claim won the race: read its customer
    raise DomainError("Could not resolve the customer identity.", code="identity_race")


def identity_attach(
    *,
    customer: Customer,
    kind: str,
    address: str,
    verified: bool = False,
    take_over_unverified: bool = False,
) -> ContactIdentity:
    """Add an identity to a customer. Refuses an address that belongs to someone else.

    With `verified=True, take_over_unverified=True` (a proven claim) an *unverified* identity of
    the address is moved to `customer` and marked verified instead (the row is locked; the
    previous holder keeps its conversations); a verified one elsewhere is still refused.
    """
    address = normalize_address(kind, address)
    if verified and take_over_unverified:
        with transaction.atomic():
            existing = (
                ContactIdentity.objects.select_for_update()
                .filter(kind=kind, address=address)
                .first()
            )
            if existing is not None and not existing.verified:
                existing.customer = customer
                existing.verified = True
                existing.save(update_fields=["customer", "verified"])
                return existing
    else:
        existing = ContactIdentity.objects.filter(kind=kind, address=address).first()
    if existing is not None:
        if existing.customer_id != customer.pk:
            raise DomainError(
                "This address belongs to another customer; merge the customers instead.",
                code="identity_taken",
            )
        return existing
    try:
        with transaction.atomic():
            return ContactIdentity.objects.create(
                customer=customer, kind=kind, address=address, verified=verified
            )
    except IntegrityError:
        return ContactIdentity.objects.get(kind=kind, address=address)


def _follow_merge(customer: Customer) -> Customer:
    seen = 0
    while customer.merged_into_id is not None and seen < 10:
        customer = Customer.objects.get(pk=customer.merged_into_id)
        seen += 1
    return customer


def _customer_foreign_keys() -> list[models.ForeignKey]:
    """Every FK in the project that points at Customer (new apps are picked up by themselves)."""
    fields = []
    for model in apps.get_models():
        for field in model._meta.get_fields():
            if (
                isinstance(field, models.ForeignKey)
                and field.related_model is Customer
                and model is not Customer
            ):
                fields.append(field)
    return fields


@transaction.atomic
def customer_merge(*, source: Customer, target: Customer) -> Customer:
    """Move everything of `source` to `target`: identities, conversations, opt-outs and any other
    row pointing at a customer. `source` stays as a tombstone pointing at `target`.

    Target's attributes win; source fills gaps. Locks both rows (in pk order). Broadcasts
    `customer.merged`.
    """
    if source.pk == target.pk:
        raise DomainError("A customer cannot be merged into itself.", code="merge_self")
    locked = {
        c.pk: c
        for c in Customer.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    if source.merged_into_id or target.merged_into_id:
        raise DomainError("One of these customers was already merged.", code="merge_merged")

    # Opt-outs are unique per (customer, channel): keep the target's where both exist.
    target_optout_channels = ChannelOptOut.objects.filter(customer=target).values("channel_id")
    ChannelOptOut.objects.filter(customer=source, channel_id__in=target_optout_channels).delete()
    for field in _customer_foreign_keys():
        if field.model is Customer:
            continue
        field.model._default_manager.filter(**{field.name: source}).update(**{field.name: target})

    target.custom_attributes = {**source.custom_attributes, **target.custom_attributes}
    for attr in ("name", "locale", "time_zone"):
        if not getattr(target, attr) and getattr(source, attr):
            setattr(target, attr, getattr(source, attr))
    target.save()
    source.merged_into = target
    source.save(update_fields=["merged_into", "updated_at"])
    broadcast_on_commit(
        customer_group(target.pk),
        {"type": "customer.merged", "customer_id": target.pk, "merged_id": source.pk},
    )
    return target


_UNSET: object = object()


@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    name: str | object = _UNSET,
    locale: str | object = _UNSET,
    time_zone: str | object = _UNSET,
    custom_attributes: dict[str, object] | object = _UNSET,
) -> Customer:
    """Change a customer's profile fields (only those passed). Validates the time zone and
    broadcasts `customer.updated` when something changed."""
    from zoneinfo import available_timezones

    changes: dict[str, object] = {}
    if name is not _UNSET:
        changes["name"] = str(name)[:200]
    if locale is not _UNSET:
        changes["locale"] = str(locale)[:10]
    if time_zone is not _UNSET:
        if time_zone and time_zone not in available_timezones():
            raise DomainError(f"Unknown time zone: {time_zone}", code="time_zone")
        changes["time_zone"] = time_zone
    if custom_attributes is not _UNSET:
        if not isinstance(custom_attributes, dict):
            raise DomainError("Custom attributes must be an object.", code="attributes")
        changes["custom_attributes"] = custom_attributes
    customer = Customer.objects.select_for_update().get(pk=customer.pk)
    changed = [field for field, value in changes.items() if getattr(customer, field) != value]
    if not changed:
        return customer
    for field in changed:
        setattr(customer, field, changes[field])
    customer.save(update_fields=[*changed, "updated_at"])
    if "custom_attributes" in changed:
        _reevaluate_sla(customer)
    broadcast_on_commit(
        customer_group(customer.pk),
        {"type": "customer.updated", "customer_id": customer.pk, "fields": sorted(changed)},
    )
    return customer


def _reevaluate_sla(customer: Customer) -> None:
    """SLA rules may match customer attributes: re-evaluate the customer's live conversations."""
    from django.utils import timezone

    from helpdesk.conversations.models import Conversation
    from helpdesk.sla import timers

    now = timezone.now()
    live = (
        Conversation.objects.select_for_update()
        .filter(customer=customer)
        .exclude(status="resolved")
        .order_by("pk")
    )
    for conversation in live:
        timers.sla_on_attributes_changed(conversation=conversation, at=now)
