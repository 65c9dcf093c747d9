"""Data steps of the SLA migrations, run against the current models."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps

from helpdesk.conversations.models import Conversation
from helpdesk.sla import timers
from helpdesk.sla.models import SLAEvent
from helpdesk.sla.tasks import check_deadlines
from tests.sla.support import office_calendar, policy
from tests.support import factories

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def test_due_sort_migration_restores_breached_deadlines_for_the_inbox_sort():
    migration = importlib.import_module("helpdesk.conversations.migrations.0002_sla_due_sort")
    policy()
    conversation = factories.ConversationFactory()
    timers.sla_on_conversation_created(conversation=conversation, at=T0)
    check_deadlines(now=T0 + timedelta(minutes=61))
    # The columns as the previous code left them: the recorded breach dropped out.
    Conversation.objects.filter(pk=conversation.pk).update(
        sla_next_due_at=T0 + timedelta(minutes=600), sla_unrecorded_due_at=None
    )
    migration.forwards(apps, None)
    migrated = Conversation.objects.get(pk=conversation.pk)
    assert migrated.sla_next_due_at == T0 + timedelta(minutes=60)
    assert migrated.sla_unrecorded_due_at == T0 + timedelta(minutes=600)


def test_event_time_mode_migration_fills_completions_from_their_policy():
    migration = importlib.import_module("helpdesk.sla.migrations.0005_event_time_mode")
    policy(calendar=office_calendar(), first_response_business=True, resolution_business=False)
    conversation = factories.ConversationFactory()
    timers.sla_on_conversation_created(conversation=conversation, at=T0)
    conversation = Conversation.objects.get(pk=conversation.pk)
    timers.sla_on_agent_reply(conversation=conversation, at=T0 + timedelta(minutes=5))
    SLAEvent.objects.update(business_time=None)
    migration.backfill(apps, None)
    assert list(SLAEvent.objects.values_list("kind", "business_time")) == [("met", True)]
