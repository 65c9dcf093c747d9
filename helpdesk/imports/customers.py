"""The customer records of a chunk: skipped, linked or created.

A record whose reference was imported before is skipped. Otherwise its addresses decide, as
they do for a customer who writes in (`customer_get_or_create_by_identity`): addresses are
normalized, a phone number also finds the WhatsApp identity of the same number and vice
versa, and when an address already belongs to a customer (in Relay, or made by an earlier line)
the record links to that customer instead of making a second one: its missing addresses are
added, and its name, language and time zone fill the customer's empty ones (attributes stay
as they are: SLA rules may read them). Addresses of two different customers refuse the record;
the operator merges the customers first. Linked customers are locked (in id order, following
merges) until the chunk commits, as the inbound services lock them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils.translation import gettext as _

from helpdesk.customers.identities import SIBLING_KINDS
from helpdesk.customers.models import ContactIdentity, Customer
from helpdesk.imports.models import ImportedCustomer
from helpdesk.imports.records import CustomerRecord, IdentityRecord
from helpdesk.imports.state import ChunkReport, ImportRun

Address = tuple[str, str]


@dataclass
class CustomerPlan:
    by_ref: dict[str, Customer] = field(default_factory=dict)  # made or linked in this chunk
    known: dict[str, int] = field(default_factory=dict)  # ref -> id, imported before
    new: list[Customer] = field(default_factory=list)
    identities: list[tuple[Customer, IdentityRecord]] = field(default_factory=list)
    refs: list[tuple[str, Customer]] = field(default_factory=list)
    filled: dict[int, Customer] = field(default_factory=dict)  # existing ones that changed


def plan_customers(
    *,
    records: Sequence[CustomerRecord],
    referenced: set[str],
    run: ImportRun,
    report: ChunkReport,
) -> CustomerPlan:
    """Decide each record's fate; `referenced` are customer refs that conversations of the
    chunk name (their ids are looked up with the records' own, in one query)."""
    plan = CustomerPlan()
    unique: dict[str, CustomerRecord] = {}
    for record in records:
        if record.ref in unique:
            report.refuse("customers", record, _duplicate(record.ref, unique[record.ref].line))
        else:
            unique[record.ref] = record
    this_run = set(run.dry_customers)
    for ref, customer_id, imported_at in ImportedCustomer.objects.filter(
        ref__in=[*unique, *referenced]
    ).values_list("ref", "customer_id", "imported_at"):
        plan.known[ref] = customer_id
        if imported_at >= run.started_at:
            this_run.add(ref)
    fresh = []
    for record in unique.values():
        if record.ref in this_run:
            report.refuse("customers", record, _earlier(record.ref))
        elif record.ref in plan.known:
            report.count("customers", "skipped")
        else:
            fresh.append(record)
    owners = _owners_of({(i.kind, i.address) for r in fresh for i in r.identities})
    existing = _customers(set(owners.values()), lock=not run.dry_run)
    stored = {address: existing[customer_id] for address, customer_id in owners.items()}
    planned: dict[Address, Customer] = {}
    for record in fresh:
        _place(record, plan, report, run, planned, stored)
    return plan


def _earlier(ref: str) -> str:
    return _('customer_ref "%(ref)s" already appears earlier in this file.') % {"ref": ref}


def _duplicate(ref: str, line: int) -> str:
    return _('customer_ref "%(ref)s" already appears on line %(line)s.') % {
        "ref": ref,
        "line": line,
    }


def _place(
    record: CustomerRecord,
    plan: CustomerPlan,
    report: ChunkReport,
    run: ImportRun,
    planned: dict[Address, Customer],
    stored: dict[Address, Customer],
) -> None:
    """Link, create or refuse one record, in line order (an earlier line's customer counts)."""
    candidates: dict[int, Customer] = {}
    for identity in record.identities:
        for address in _with_sibling(identity):
            for source in (planned, stored, run.dry_addresses):
                owner = source.get(address)
                if owner is not None:
                    candidates[id(owner)] = owner
                    break
    if len(candidates) > 1:
        numbers = sorted(f"#{c.pk}" for c in candidates.values() if c.pk)
        report.refuse(
            "customers",
            record,
            _("Its addresses belong to %(count)s different customers %(ids)s; merge them first, "
              "or leave an address out.") % {"count": len(candidates), "ids": " ".join(numbers)},
        )
        report.refused_customers[record.ref] = record.line
        return
    if candidates:
        customer = next(iter(candidates.values()))
        report.count("customers", "linked")
        if _fill(customer, record) and customer.pk:
            plan.filled[customer.pk] = customer
    else:
        customer = Customer(
            name=record.name,
            locale=record.locale,
            time_zone=record.time_zone,
            custom_attributes=record.attributes,
        )
        plan.new.append(customer)
        report.count("customers", "created")
    for identity in record.identities:
        address = (identity.kind, identity.address)
        if address not in planned and address not in stored:
            plan.identities.append((customer, identity))
            planned[address] = customer
            if run.dry_run:
                report.dry_addresses[address] = customer
    plan.by_ref[record.ref] = customer
    plan.refs.append((record.ref, customer))
    if run.dry_run:
        report.dry_customers[record.ref] = customer


def _with_sibling(identity: IdentityRecord) -> list[Address]:
    addresses = [(identity.kind, identity.address)]
    if identity.kind in SIBLING_KINDS:
        addresses.append((SIBLING_KINDS[identity.kind], identity.address))
    return addresses


def _fill(customer: Customer, record: CustomerRecord) -> bool:
    """A linked record fills the customer's empty name, language and time zone."""
    changed = False
    for field_name in ("name", "locale", "time_zone"):
        value = getattr(record, field_name)
        if value and not getattr(customer, field_name):
            setattr(customer, field_name, value)
            changed = True
    return changed


def _owners_of(addresses: set[Address]) -> dict[Address, int]:
    """{address: customer id} for the addresses (and their siblings) Relay has already."""
    if not addresses:
        return {}
    wanted: dict[str, set[str]] = {}
    for kind, address in addresses:
        wanted.setdefault(kind, set()).add(address)
        if kind in SIBLING_KINDS:
            wanted.setdefault(SIBLING_KINDS[kind], set()).add(address)
    query = Q()
    for kind, values in wanted.items():
        query |= Q(kind=kind, address__in=values)
    return {
        (kind, address): customer_id
        for kind, address, customer_id in ContactIdentity.objects.filter(query).values_list(
            "kind", "address", "customer_id"
        )
    }


def _customers(ids: set[int], *, lock: bool) -> dict[int, Customer]:
    """{asked id: customer}, locked in id order; a merged customer stands for its survivor."""
    if not ids:
        return {}
    rows = Customer.objects.filter(pk__in=ids).order_by("pk")
    found = {c.pk: c for c in (rows.select_for_update() if lock else rows)}
    result = {}
    for customer_id in ids:
        customer = found[customer_id]
        for _hop in range(10):
            if customer.merged_into_id is None:
                break
            query = Customer.objects.filter(pk=customer.merged_into_id)
            customer = (query.select_for_update() if lock else query).get()
        result[customer_id] = customer
    return result
