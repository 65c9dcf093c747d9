"""Editing SLA rules, the default policy or deleting a policy: a job queued after commit moves
each open conversation to the policy that now applies, with the time already charged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse

from helpdesk.conversations.models import Conversation
from helpdesk.sla import recompute, tasks
from helpdesk.sla.models import SLAPolicy, SLARule
from helpdesk.sla.recompute import sla_policies_reevaluate
from tests.sla.support import fresh, policy, rule, started
from tests.support import factories

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)  # a Monday
LATER = T0 + timedelta(minutes=10)


def test_sla_policies_reevaluate_moves_what_a_new_rule_matches_carrying_charged_time():
    standard = policy()  # 24/7, first response 60 minutes
    conversation = started()
    elsewhere = started()
    resolved = started()
    Conversation.objects.filter(pk=resolved.pk).update(status="resolved")
    urgent = policy(name="Urgent", is_default=False, first_response_minutes=30)
    rule(urgent, channel=conversation.channel)
    rule(urgent, channel=resolved.channel)

    progress = sla_policies_reevaluate(now=LATER)

    assert (progress.updated, progress.resume_after) == (1, None)
    moved = fresh(conversation)
    assert moved.sla_policy_id == urgent.pk
    # 10 minutes charged on the old policy, 20 left on the new one.
    assert moved.first_response_due_at == T0 + timedelta(minutes=30)
    assert moved.sla_state["targets"]["first_response"]["cycle"] == 0
    assert fresh(elsewhere).sla_policy_id == standard.pk
    assert fresh(resolved).sla_policy_id == standard.pk
    assert sla_policies_reevaluate(now=LATER + timedelta(minutes=5)).updated == 0


def test_sla_policies_reevaluate_stops_targets_when_no_policy_applies_any_more():
    special = policy(name="Special", is_default=False)
    conversation = started()
    assert conversation.sla_policy_id is None
    rule(special, channel=conversation.channel)
    assert sla_policies_reevaluate(now=T0).updated == 1
    assert fresh(conversation).first_response_due_at == T0 + timedelta(minutes=60)
    SLARule.objects.all().delete()
    assert sla_policies_reevaluate(now=LATER).updated == 1
    dropped = fresh(conversation)
    assert dropped.sla_policy_id is None
    assert dropped.sla_next_due_at is None
    assert dropped.sla_state["targets"] == {}


def test_sla_policies_reevaluate_clears_the_targets_of_a_deleted_policy():
    doomed = policy(name="Doomed")
    conversation = started()
    doomed.delete()  # conversations keep their running targets, without a policy
    assert fresh(conversation).first_response_due_at is not None
    assert sla_policies_reevaluate(now=LATER).updated == 1
    assert fresh(conversation).sla_next_due_at is None


def test_reevaluate_policies_job_works_in_chunks_and_queues_its_own_continuation(monkeypatch):
    policy()
    urgent = policy(name="Urgent", is_default=False, first_response_minutes=30)
    conversations = [started() for _ in range(5)]
    for conversation in conversations:
        rule(urgent, channel=conversation.channel)
    monkeypatch.setattr(recompute, "CHUNK_SIZE", 2)
    monkeypatch.setattr(tasks, "TIME_BUDGET_SECONDS", 0)
    first = sla_policies_reevaluate(chunk_size=2, time_budget=0)
    assert (first.updated, first.resume_after) == (2, conversations[1].pk)
    tasks.reevaluate_policies()  # jobs run inline in tests
    assert {fresh(c).sla_policy_id for c in conversations} == {urgent.pk}


# --- Admin -------------------------------------------------------------------------------------


def rule_form(target: SLAPolicy, **conditions: Any) -> dict[str, Any]:
    return {"position": 0, "policy": target.pk, **conditions}


def test_sla_rule_admin_add_moves_open_conversations_after_commit(
    client, manager, django_capture_on_commit_callbacks
):
    policy()
    urgent = policy(name="Urgent", is_default=False, first_response_minutes=30)
    conversation = started(T0)
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(
            reverse("admin:sla_slarule_add"),
            rule_form(urgent, channel=conversation.channel_id),
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert len(callbacks) == 1
    assert fresh(conversation).sla_policy_id == urgent.pk


def test_sla_rule_admin_reorder_queues_one_reevaluation(
    client, manager, django_capture_on_commit_callbacks
):
    first = policy(name="First", is_default=False)
    second = policy(name="Second", is_default=False)
    conversation = started()
    rules = [
        rule(first, position=1, channel=conversation.channel),
        rule(second, position=2, channel=conversation.channel),
    ]
    sla_policies_reevaluate()
    assert fresh(conversation).sla_policy_id == first.pk
    client.force_login(manager)
    data: dict[str, Any] = {
        "form-TOTAL_FORMS": 2,
        "form-INITIAL_FORMS": 2,
        "_save": "Save",
    }
    for i, (existing, position) in enumerate(zip(rules, (2, 1), strict=True)):
        data[f"form-{i}-id"] = existing.pk
        data[f"form-{i}-position"] = position
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(reverse("admin:sla_slarule_changelist"), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert len(callbacks) == 1
    assert fresh(conversation).sla_policy_id == second.pk


def test_sla_rule_admin_delete_moves_conversations_back_to_the_default(
    client, manager, django_capture_on_commit_callbacks
):
    standard = policy()
    urgent = policy(name="Urgent", is_default=False, first_response_minutes=30)
    conversation = started()
    urgent_rule = rule(urgent, channel=conversation.channel)
    sla_policies_reevaluate()
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:sla_slarule_delete", args=[urgent_rule.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert fresh(conversation).sla_policy_id == standard.pk


def policy_form(target: SLAPolicy, *, rules: list[dict[str, Any]] = (), **changes: Any):
    existing = list(target.rules.all())
    data: dict[str, Any] = {
        "name": target.name,
        "is_default": "on" if target.is_default else "",
        "calendar": target.calendar_id or "",
        "warn_percent": target.warn_percent,
        "rules-TOTAL_FORMS": len(existing) + len(rules),
        "rules-INITIAL_FORMS": len(existing),
    }
    for name in ("first_response", "next_response", "resolution"):
        data[f"{name}_minutes"] = getattr(target, f"{name}_minutes") or ""
        if getattr(target, f"{name}_business"):
            data[f"{name}_business"] = "on"
    for i, existing_rule in enumerate(existing):
        data[f"rules-{i}-id"] = existing_rule.pk
        data[f"rules-{i}-policy"] = target.pk
        data[f"rules-{i}-position"] = existing_rule.position
        data[f"rules-{i}-channel"] = existing_rule.channel_id or ""
    for i, new_rule in enumerate(rules, start=len(existing)):
        data.update({f"rules-{i}-{field}": value for field, value in new_rule.items()})
        data[f"rules-{i}-policy"] = target.pk
    data.update(changes)
    return {k: v for k, v in data.items() if v != ""}


def test_policy_admin_rules_inline_change_moves_open_conversations(
    client, manager, django_capture_on_commit_callbacks
):
    policy()
    urgent = policy(name="Urgent", is_default=False, first_response_minutes=30)
    conversation = started()
    client.force_login(manager)
    url = reverse("admin:sla_slapolicy_change", args=[urgent.pk])
    new_rule = {"position": 0, "channel": conversation.channel_id}
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(url, policy_form(urgent, rules=[new_rule]))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert len(callbacks) == 1  # the policy's own fields did not change: no deadline recompute
    assert fresh(conversation).sla_policy_id == urgent.pk


def test_policy_admin_making_a_policy_the_default_applies_it_to_open_conversations(
    client, manager, django_capture_on_commit_callbacks
):
    standard = policy(is_default=False)
    conversation = started()
    assert conversation.sla_policy_id is None
    client.force_login(manager)
    url = reverse("admin:sla_slapolicy_change", args=[standard.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, policy_form(standard, is_default="on"))
    assert response.status_code == 302, response.content.decode()[:2000]
    assert fresh(conversation).sla_policy_id == standard.pk


def test_policy_admin_delete_moves_its_conversations_to_the_default(
    client, manager, django_capture_on_commit_callbacks
):
    standard = policy()
    urgent = policy(name="Urgent", is_default=False, first_response_minutes=30)
    conversation = started()
    rule(urgent, channel=conversation.channel)
    sla_policies_reevaluate(now=T0)
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:sla_slapolicy_delete", args=[urgent.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    moved = fresh(conversation)
    assert moved.sla_policy_id == standard.pk
    assert moved.first_response_due_at is not None


def test_deleting_a_team_or_label_its_rules_named_moves_conversations_back(
    client, manager, django_capture_on_commit_callbacks
):
    standard = policy()
    urgent = policy(name="Urgent", is_default=False, first_response_minutes=30)
    team = factories.TeamFactory()
    label = factories.LabelFactory()
    by_team = started(team=team)
    by_label = started()
    by_label.labels.add(label)
    rule(urgent, team=team)
    rule(urgent, position=1, label=label)
    sla_policies_reevaluate()
    assert {fresh(by_team).sla_policy_id, fresh(by_label).sla_policy_id} == {urgent.pk}
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("admin:agents_team_delete", args=[team.pk]), {"post": "yes"})
    assert fresh(by_team).sla_policy_id == standard.pk
    assert fresh(by_label).sla_policy_id == urgent.pk
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("admin:conversations_label_changelist"),
            {"action": "delete_selected", "_selected_action": [label.pk], "post": "yes"},
        )
    assert fresh(by_label).sla_policy_id == standard.pk
