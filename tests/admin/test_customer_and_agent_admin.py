"""Customer merge action, inlines on customers and users, read-only core admins."""

from __future__ import annotations

import pytest
from django.urls import reverse

from helpdesk.customers.models import Customer
from tests.admin.helpers import flash, run_action
from tests.support import factories

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:customers_customer_changelist"


@pytest.fixture
def logged_in(client, manager):
    client.force_login(manager)
    return client


def test_merge_action_asks_which_customer_to_keep_then_merges(logged_in):
    keep = factories.CustomerFactory(name="Lucía Fernández")
    other = factories.CustomerFactory(name="", locale="es")
    factories.IdentityFactory(customer=other, kind="phone", address="+34600111222")
    moved = factories.ConversationFactory(customer=other)

    page = run_action(logged_in, CHANGELIST, "merge_into", [keep.pk, other.pk])
    assert page.status_code == 200
    assert "Lucía Fernández" in page.content.decode()

    done = run_action(
        logged_in, CHANGELIST, "merge_into", [keep.pk, other.pk], apply="1", target=keep.pk
    )
    assert done.status_code == 302
    other.refresh_from_db()
    keep.refresh_from_db()
    moved.refresh_from_db()
    assert other.merged_into_id == keep.pk
    assert moved.customer_id == keep.pk
    assert keep.identities.filter(address="+34600111222").exists()
    assert keep.locale == "es"  # gaps filled from the merged customer
    assert any(level == "success" for level, _ in flash(done))


def test_merge_action_needs_exactly_two_customers(logged_in):
    customers = factories.CustomerFactory.create_batch(3)
    response = run_action(logged_in, CHANGELIST, "merge_into", [c.pk for c in customers])
    assert response.status_code == 302
    assert flash(response) == [("error", "Select exactly two customers to merge.")]
    assert not Customer.objects.filter(merged_into__isnull=False).exists()


def test_merge_action_reports_an_already_merged_customer(logged_in):
    target = factories.CustomerFactory()
    tombstone = factories.CustomerFactory(merged_into=factories.CustomerFactory())
    response = run_action(
        logged_in, CHANGELIST, "merge_into", [target.pk, tombstone.pk], apply="1", target=target.pk
    )
    assert response.status_code == 302
    assert flash(response) == [("error", "One of these customers was already merged.")]


def test_customer_change_page_shows_identities_and_conversations(logged_in):
    customer = factories.CustomerFactory(name="Ingrid <Berg>")
    factories.IdentityFactory(customer=customer, address="ingrid@example.test")
    conversation = factories.ConversationFactory(customer=customer)
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    html = logged_in.get(url).content.decode()
    assert "ingrid@example.test" in html
    assert reverse("admin:conversations_conversation_change", args=[conversation.pk]) in html
    assert "Ingrid &lt;Berg&gt;" in html


def test_customer_search_finds_by_identity_address(logged_in):
    customer = factories.CustomerFactory(name="Sofia Rossi")
    factories.IdentityFactory(customer=customer, address="sofia@example.test")
    factories.CustomerFactory(name="Someone else")
    response = logged_in.get(reverse(CHANGELIST), {"q": "sofia@example"})
    assert [c.pk for c in response.context["cl"].result_list] == [customer.pk]


def test_user_change_page_has_agent_profile_inline(logged_in, agent):
    url = reverse("admin:auth_user_change", args=[agent.pk])
    response = logged_in.get(url)
    assert response.status_code == 200
    assert "agent_profile-0-display_name" in response.content.decode()


def test_team_change_page_uses_filter_horizontal(logged_in):
    team = factories.TeamFactory()
    html = logged_in.get(reverse("admin:agents_team_change", args=[team.pk])).content.decode()
    assert "selectfilter" in html


@pytest.mark.parametrize(
    "url_name", ["admin:core_realtimeevent_changelist", "admin:core_workerheartbeat_changelist"]
)
def test_core_admins_are_read_only(logged_in, url_name):
    response = logged_in.get(reverse(url_name))
    assert response.status_code == 200
    assert response.context["has_add_permission"] is False


def test_customer_change_form_saves_through_the_service_and_checks_the_time_zone(
    client, manager, events
):
    from django.urls import reverse

    from helpdesk.customers.models import Customer

    customer = factories.CustomerFactory(name="Old name", time_zone="")
    client.force_login(manager)
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    form = {
        "name": "New name",
        "locale": "nb",
        "time_zone": "Mars/Olympus",
        "custom_attributes": "{}",
        "identities-TOTAL_FORMS": "0",
        "identities-INITIAL_FORMS": "0",
        "conversations-TOTAL_FORMS": "0",
        "conversations-INITIAL_FORMS": "0",
    }
    refused = client.post(url, form)
    assert refused.status_code == 200 and "Mars/Olympus" in refused.content.decode()
    form["time_zone"] = "Europe/Oslo"
    saved = client.post(url, form)
    assert saved.status_code == 302
    customer = Customer.objects.get(pk=customer.pk)
    assert (customer.name, customer.locale, customer.time_zone) == (
        "New name",
        "nb",
        "Europe/Oslo",
    )
    assert "customer.updated" in events.types()
