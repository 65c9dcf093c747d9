"""Who a widget session speaks for: signed identities take over typed-in addresses, a verified
session ends with the shop's login, and a new conversation is really new."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from channels_app.widget.identity import ShopIdentity, identity_sign, visitor_token_check
from channels_app.widget.services import widget_session_start
from helpdesk.conversations.models import Conversation, Message
from helpdesk.core.errors import DomainError
from helpdesk.customers.models import ContactIdentity
from tests.channels_app.widget.support import WidgetClient, aged_token, signed_identity
from tests.support import factories

pytestmark = pytest.mark.django_db

VICTIM = "victim@example.com"


def _attacker_claims(shop_channel, email: str = VICTIM) -> WidgetClient:
    attacker = WidgetClient(shop_channel, ip="192.0.2.66")
    attacker.start()
    attacker.send("attacker here")
    assert attacker.post("email", {"email": email}).json()["stored"] == "identity"
    return attacker


def test_session_verified_email_takes_over_an_address_typed_into_the_widget(shop_channel):
    attacker = _attacker_claims(shop_channel)
    attacker_customer = Message.objects.get(text="attacker here").conversation.customer
    victim = WidgetClient(shop_channel)
    data = victim.start(identity=signed_identity(shop_channel, customer_id="", email=VICTIM))
    assert data.json()["verified"] is True
    secret = victim.send("my card ends in 4242").json()["message"]

    victim_conversation = Conversation.objects.get(pk=secret["conversation_id"])
    assert victim_conversation.customer_id != attacker_customer.pk
    identity = ContactIdentity.objects.get(kind="email", address=VICTIM)
    assert identity.customer_id == victim_conversation.customer_id and identity.verified
    # The attacker keeps their own conversation and never reaches the victim's.
    assert Conversation.objects.filter(customer=attacker_customer).count() == 1
    previews = [c["preview"] for c in attacker.get("conversations").json()["conversations"]]
    assert previews == ["attacker here"]
    path = f"conversations/{secret['conversation_id']}/messages"
    assert attacker.get(path).status_code == 404


def test_session_verified_customer_id_takes_over_a_typed_email(shop_channel):
    _attacker_claims(shop_channel)
    attacker_customer = Message.objects.get(text="attacker here").conversation.customer
    victim = WidgetClient(shop_channel)
    victim.start(identity=signed_identity(shop_channel, customer_id="shop-7", email=VICTIM))
    victim.send("hello")
    victim_customer = Message.objects.get(text="hello").conversation.customer
    assert victim_customer.pk != attacker_customer.pk
    assert set(victim_customer.identities.values_list("kind", "verified")) == {
        ("shop_customer", True),
        ("email", True),
    }
    assert not attacker_customer.identities.filter(kind="email").exists()
    assert attacker_customer.conversations.count() == 1


def test_session_verified_email_of_another_verified_customer_is_not_moved(shop_channel):
    owner = factories.IdentityFactory(kind="email", address=VICTIM, verified=True).customer
    client = WidgetClient(shop_channel)
    client.start(identity=signed_identity(shop_channel, customer_id="shop-8", email=VICTIM))
    client.send("hi")
    customer = Message.objects.get(text="hi").conversation.customer
    assert customer.pk != owner.pk
    assert ContactIdentity.objects.get(kind="email", address=VICTIM).customer_id == owner.pk


def test_email_typed_into_the_widget_never_joins_a_verified_customer(shop_channel):
    shopper = WidgetClient(shop_channel)
    shopper.start(identity=signed_identity(shop_channel, customer_id="", email=VICTIM))
    shopper.send("verified history")
    owner = Message.objects.get(text="verified history").conversation.customer
    attacker = WidgetClient(shop_channel, ip="192.0.2.66")
    attacker.start()
    attacker.send("hi")
    assert attacker.post("email", {"email": VICTIM}).json()["stored"] == "attribute"
    assert ContactIdentity.objects.get(kind="email", address=VICTIM).customer_id == owner.pk
    previews = [c["preview"] for c in attacker.get("conversations").json()["conversations"]]
    assert previews == ["hi"]


def test_session_refuses_a_legacy_signature_cut_at_another_bar(shop_channel):
    # The victim wrote in by email: an unverified address, history on their own customer.
    victim = factories.IdentityFactory(kind="email", address=VICTIM, verified=False).customer
    # The shop signed (legacy form) its customer 2002, whose address is "foo|victim@...".
    now = int(time.time())
    message = f"2002|foo|{VICTIM}|{now}".encode()
    signature = hmac.new(shop_channel.signing_secret.encode(), message, hashlib.sha256)
    attacker = WidgetClient(shop_channel, ip="192.0.2.66")
    forged = {"customer_id": "2002|foo", "email": VICTIM, "name": "Mallory",
              "timestamp": now, "signature": signature.hexdigest()}
    response = attacker.start(identity=forged)
    assert response.status_code == 403 and response.json()["code"] == "bad_signature"
    identity = ContactIdentity.objects.get(kind="email", address=VICTIM)
    assert identity.customer_id == victim.pk and not identity.verified
    assert not ContactIdentity.objects.filter(kind="shop_customer").exists()


def test_session_accepts_a_legacy_signed_identity_without_bars(shop_channel):
    now = int(time.time())
    message = f"shop-9|{VICTIM}|{now}".encode()
    signature = hmac.new(shop_channel.signing_secret.encode(), message, hashlib.sha256)
    shopper = WidgetClient(shop_channel)
    identity = {"customer_id": "shop-9", "email": VICTIM, "name": "Vic",
                "timestamp": now, "signature": signature.hexdigest()}
    assert shopper.start(identity=identity).json()["verified"] is True
    shopper.send("legacy shop")
    customer = Message.objects.get(text="legacy shop").conversation.customer
    assert set(customer.identities.values_list("kind", "address", "verified")) == {
        ("shop_customer", "shop-9", True),
        ("email", VICTIM, True),
    }


def test_session_start_refuses_a_signed_email_that_is_not_an_address(shop_channel):
    # The API's serializer refuses it first; the service does not rely on that.
    now = int(time.time())
    values = {"customer_id": "shop-5", "email": "not an address", "timestamp": now}
    signature = identity_sign(channel=shop_channel, **values)
    with pytest.raises(DomainError) as error:
        widget_session_start(
            channel=shop_channel, identity=ShopIdentity(name="", signature=signature, **values)
        )
    assert error.value.code == "bad_email"
    assert not ContactIdentity.objects.exists()


def test_session_verified_token_without_identity_starts_a_fresh_visitor(shop_channel):
    browser = WidgetClient(shop_channel)
    browser.start(identity=signed_identity(shop_channel))
    browser.send("my order")
    verified_token = browser.token
    # The shop logged the customer out: the page no longer sends an identity.
    data = browser.start().json()
    assert data["verified"] is False and data["has_history"] is False
    assert browser.token != verified_token
    assert browser.get("conversations").json()["conversations"] == []
    before = visitor_token_check(channel=shop_channel, token=verified_token)
    after = visitor_token_check(channel=shop_channel, token=browser.token)
    assert after.customer_id is None and after.visitor_id != before.visitor_id


def test_session_reissues_an_expired_verified_token_while_the_shop_vouches(shop_channel):
    browser = WidgetClient(shop_channel)
    browser.start(identity=signed_identity(shop_channel))
    conversation_id = browser.send("my order").json()["message"]["conversation_id"]
    customer_id = visitor_token_check(channel=shop_channel, token=browser.token).customer_id
    browser.token = aged_token(shop_channel, {"v": "old", "c": customer_id}, age=8 * 86400)
    # Every endpoint refuses the lapsed token ...
    refused = browser.get("conversations")
    assert refused.status_code == 403 and refused.json()["code"] == "token_expired"
    # ... and the next session start, with the shop still vouching, issues a fresh one.
    data = browser.start(identity=signed_identity(shop_channel)).json()
    assert data["verified"] is True and data["has_history"] is True
    renewed = visitor_token_check(channel=shop_channel, token=browser.token)
    assert renewed.customer_id == customer_id
    listed = browser.get("conversations").json()["conversations"]
    assert [c["id"] for c in listed] == [conversation_id]


def test_session_with_an_expired_verified_token_and_no_identity_is_refused(shop_channel):
    browser = WidgetClient(shop_channel)
    browser.start(identity=signed_identity(shop_channel))
    browser.send("my order")
    customer_id = visitor_token_check(channel=shop_channel, token=browser.token).customer_id
    browser.token = aged_token(shop_channel, {"v": "old", "c": customer_id}, age=8 * 86400)
    response = browser.start()
    assert response.status_code == 403 and response.json()["code"] == "token_expired"
    browser.token = ""  # what the widget does next: a fresh anonymous visitor
    data = browser.start().json()
    assert data["verified"] is False and data["has_history"] is False


def test_send_new_conversation_starts_one_while_another_is_open(visitor):
    first = visitor.send("about order 1").json()["message"]["conversation_id"]
    response = visitor.send("about order 2", client_id="new-conv-0001", new_conversation=True)
    assert response.status_code == 201
    second = response.json()["message"]["conversation_id"]
    assert second != first
    assert Conversation.objects.get(pk=first).status == "open"
    # A retry of that first message does not open a third conversation.
    retry = visitor.send("about order 2", client_id="new-conv-0001", new_conversation=True)
    assert retry.status_code == 200 and retry.json()["message"]["conversation_id"] == second
    # Without either, the latest open conversation continues.
    third = visitor.send("and another thing").json()["message"]["conversation_id"]
    assert third == second
    listed = {c["id"] for c in visitor.get("conversations").json()["conversations"]}
    assert listed == {first, second}


def test_send_refuses_a_conversation_id_together_with_new_conversation(visitor):
    first = visitor.send("one").json()["message"]["conversation_id"]
    response = visitor.send("two", conversation_id=first, new_conversation=True)
    assert response.status_code == 400
    assert Message.objects.filter(text="two").count() == 0
