"""Widget hardening from the security review: bounded caches, channel-scoped read marks,
vanished verified customers, frame floods on the socket, IPv6 rate-limit buckets."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from channels_app.widget import languages, ratelimit
from helpdesk.conversations.models import Message
from helpdesk.conversations.services import message_send_reply
from helpdesk.customers.models import Customer
from tests.channels_app.widget.support import WidgetClient, signed_identity
from tests.channels_app.widget.test_consumer import signed_in
from tests.support import factories

pytestmark = pytest.mark.django_db


def test_catalog_cache_holds_supported_languages_only(client):
    languages._catalog.cache_clear()
    for i in range(200):
        assert client.get(f"/widget/i18n/zz{i}.json").json()["lang"] == "en"
    assert languages._catalog.cache_info().currsize == 1


def test_mark_read_never_touches_the_customers_other_channels(shop_channel, agent):
    visitor = WidgetClient(shop_channel)
    visitor.start(identity=signed_identity(shop_channel))
    visitor.send("hello")
    customer = Message.objects.get(text="hello").conversation.customer
    sms = factories.ConversationFactory(
        customer=customer, channel=factories.ChannelFactory(kind="sms")
    )
    factories.IdentityFactory(customer=customer, kind="phone", address="+4790001111")
    sms_reply = message_send_reply(conversation=sms, author=agent, text="SMS reply")
    Message.objects.filter(pk=sms_reply.pk).update(delivery_status="delivered")
    answer = visitor.post("read", {"conversation_id": sms.pk, "up_to": sms_reply.pk})
    assert answer.status_code == 200 and answer.json()["read"] == []
    assert Message.objects.get(pk=sms_reply.pk).delivery_status == "delivered"


def test_verified_token_of_a_vanished_customer_cannot_write(shop_channel):
    visitor = WidgetClient(shop_channel)
    visitor.start(identity=signed_identity(shop_channel, customer_id="shop-1"))
    visitor.send("first")
    customer = Message.objects.get(text="first").conversation.customer
    Message.objects.filter(conversation__customer=customer).delete()
    customer.conversations.all().delete()
    customer.identities.all().delete()
    Customer.objects.filter(pk=customer.pk).delete()
    other = factories.CustomerFactory()  # may reuse nothing of the old one's
    answer = visitor.send("second")
    assert answer.status_code == 403 and answer.json()["code"] == "token_expired"
    assert not Message.objects.filter(text="second").exists()
    assert not other.conversations.exists()


@pytest.mark.django_db(transaction=True)
def test_socket_flooded_with_frames_is_closed(shop_channel):
    visitor = WidgetClient(shop_channel)
    visitor.start()

    async def scenario() -> dict:
        ws = await signed_in(shop_channel, visitor.token)
        for _ in range(200):
            await ws.send_json_to({"type": "typing", "conversation_id": 999999, "typing": True})
        while True:
            output = await ws.receive_output(timeout=3)
            if output["type"] == "websocket.close":
                return output

    closed = async_to_sync(scenario)()
    assert closed["code"] == 4429


def test_ip_bucket_groups_an_ipv6_subscriber_network():
    assert ratelimit.ip_bucket("2001:db8:1:2:aaaa::1") == ratelimit.ip_bucket("2001:db8:1:2::ffff")
    assert ratelimit.ip_bucket("2001:db8:1:2::1") != ratelimit.ip_bucket("2001:db8:1:3::1")
    assert ratelimit.ip_bucket("203.0.113.7") == "203.0.113.7"
    assert ratelimit.ip_bucket("::ffff:203.0.113.7") == "203.0.113.7"
    assert ratelimit.ip_bucket("") == "unknown"
