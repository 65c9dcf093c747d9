"""Ids handed out before the rows are written never meet the ids other writers get."""

from __future__ import annotations

import pytest
from django.db import transaction
from django.utils import timezone

from helpdesk.customers.models import Customer
from helpdesk.imports.writers import RowWriter
from tests.support import factories

pytestmark = pytest.mark.django_db

CUSTOMER_FIELDS = [f.attname for f in Customer._meta.concrete_fields]


def test_row_writer_ids_do_not_meet_other_writers_ids() -> None:
    before = factories.CustomerFactory()
    with transaction.atomic():
        writer = RowWriter()
        first = writer.allocate_ids(Customer, 3)
        second = writer.allocate_ids(Customer, 2)  # again before writing: no overlap
        now = timezone.now()
        rows = [
            Customer(pk=pk, name=f"Imported {pk}", created_at=now, updated_at=now)
            for pk in [*first, *second]
        ]
        values = [[getattr(c, name) for name in CUSTOMER_FIELDS] for c in rows]
        writer.insert(Customer, CUSTOMER_FIELDS, values)
    after = factories.CustomerFactory()

    assert min(first) > before.pk
    assert len(set(first) | set(second)) == 5
    assert after.pk > max(second)
    assert Customer.objects.get(pk=second[-1]).name == f"Imported {second[-1]}"
