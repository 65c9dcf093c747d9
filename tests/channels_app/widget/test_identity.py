from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import pytest
from django.core import signing

from channels_app.widget import identity as identity_module
from channels_app.widget.identity import (
    SIGNATURE_MAX_AGE,
    TOKEN_MAX_AGE,
    ShopIdentity,
    VisitorSession,
    check_shop_identity,
    identity_message,
    identity_sign,
    new_visitor,
    visitor_token_check,
    visitor_token_issue,
)
from helpdesk.core.errors import PermissionDenied
from tests.channels_app.widget.support import aged_token
from tests.support import factories

pytestmark = pytest.mark.django_db


def _identity(channel: Any, **overrides: Any) -> ShopIdentity:
    values = {"customer_id": "shop-42", "email": "ada@example.com", "timestamp": int(time.time())}
    values.update({k: v for k, v in overrides.items() if k in values})
    signature = overrides.get("signature") or identity_sign(channel=channel, **values)
    return ShopIdentity(name="Ada", signature=signature, **values)


def test_visitor_token_round_trips(shop_channel):
    session = new_visitor(shop_channel)
    token = visitor_token_issue(channel=shop_channel, session=session)
    assert visitor_token_check(channel=shop_channel, token=token) == session


def test_visitor_token_forged_is_refused(shop_channel):
    token = visitor_token_issue(channel=shop_channel, session=new_visitor(shop_channel))
    payload, _, signature = token.rpartition(":")
    forged = payload + ":" + ("A" if signature[0] != "A" else "B") + signature[1:]
    with pytest.raises(PermissionDenied) as error:
        visitor_token_check(channel=shop_channel, token=forged)
    assert error.value.code == "bad_token"


def test_visitor_token_with_claimed_customer_but_no_signature_is_refused(shop_channel):
    # A visitor cannot promote itself to a customer by editing the token's payload.
    token = signing.dumps({"ch": str(shop_channel.public_id), "v": "x", "c": 1}, key="guess")
    with pytest.raises(PermissionDenied):
        visitor_token_check(channel=shop_channel, token=token)


def test_visitor_token_expired_is_refused(shop_channel):
    class Old(signing.TimestampSigner):
        def timestamp(self) -> str:
            return signing.b62_encode(int(time.time()) - TOKEN_MAX_AGE - 60)

    old = Old(
        key=identity_module._token_key(shop_channel), salt=identity_module._salt(shop_channel)
    ).sign_object({"ch": str(shop_channel.public_id), "v": "abc"}, compress=True)
    with pytest.raises(PermissionDenied) as error:
        visitor_token_check(channel=shop_channel, token=old)
    assert error.value.code == "token_expired"


DAY = 24 * 60 * 60


def test_visitor_token_verified_lives_the_short_lifetime(shop_channel, settings):
    assert settings.WIDGET_VERIFIED_TOKEN_MAX_AGE == 7 * DAY
    fresh = aged_token(shop_channel, {"v": "abc", "c": 7}, age=6 * DAY)
    assert visitor_token_check(channel=shop_channel, token=fresh).customer_id == 7
    stale = aged_token(shop_channel, {"v": "abc", "c": 7}, age=8 * DAY)
    with pytest.raises(PermissionDenied) as error:
        visitor_token_check(channel=shop_channel, token=stale)
    assert error.value.code == "token_expired"
    settings.WIDGET_VERIFIED_TOKEN_MAX_AGE = 3600
    with pytest.raises(PermissionDenied):
        visitor_token_check(
            channel=shop_channel, token=aged_token(shop_channel, {"v": "a", "c": 7}, age=7200)
        )


def test_visitor_token_anonymous_keeps_the_long_lifetime(shop_channel):
    token = aged_token(shop_channel, {"v": "abc"}, age=300 * DAY)
    session = visitor_token_check(channel=shop_channel, token=token)
    assert session.visitor_id == "abc" and not session.verified


def test_visitor_token_of_another_channel_is_refused(shop_channel):
    other = factories.ChannelFactory(kind="web_widget")
    token = visitor_token_issue(channel=other, session=new_visitor(other))
    with pytest.raises(PermissionDenied):
        visitor_token_check(channel=shop_channel, token=token)


def test_visitor_token_keeps_verified_customer(shop_channel):
    session = VisitorSession(str(shop_channel.public_id), "v1", customer_id=7, verified=True)
    token = visitor_token_issue(channel=shop_channel, session=session)
    assert visitor_token_check(channel=shop_channel, token=token).customer_id == 7


def test_check_shop_identity_accepts_a_fresh_valid_signature(shop_channel):
    check_shop_identity(channel=shop_channel, identity=_identity(shop_channel))


def test_check_shop_identity_refuses_forged_signature(shop_channel):
    identity = _identity(shop_channel, signature="0" * 64)
    with pytest.raises(PermissionDenied) as error:
        check_shop_identity(channel=shop_channel, identity=identity)
    assert error.value.code == "bad_signature"


def test_check_shop_identity_refuses_a_changed_customer_id(shop_channel):
    good = _identity(shop_channel)
    tampered = ShopIdentity("shop-43", good.email, good.name, good.timestamp, good.signature)
    with pytest.raises(PermissionDenied):
        check_shop_identity(channel=shop_channel, identity=tampered)


def test_check_shop_identity_refuses_signature_of_another_channel(shop_channel):
    other = factories.ChannelFactory(kind="web_widget")
    with pytest.raises(PermissionDenied):
        check_shop_identity(channel=shop_channel, identity=_identity(other))


def test_check_shop_identity_refuses_expired_and_future_signatures(shop_channel):
    old = _identity(shop_channel, timestamp=int(time.time()) - SIGNATURE_MAX_AGE - 10)
    with pytest.raises(PermissionDenied) as error:
        check_shop_identity(channel=shop_channel, identity=old)
    assert error.value.code == "signature_expired"
    future = _identity(shop_channel, timestamp=int(time.time()) + 3600)
    with pytest.raises(PermissionDenied) as error:
        check_shop_identity(channel=shop_channel, identity=future)
    assert error.value.code == "bad_time"


def test_check_shop_identity_compares_in_constant_time(shop_channel, monkeypatch):
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(identity_module.hmac, "compare_digest", spy)
    identity = _identity(shop_channel)
    check_shop_identity(channel=shop_channel, identity=identity)
    assert calls == [(identity.signature, identity.signature)]


# --- The signed form: one way to read the bytes ----------------------------------------------


def _hmac_hex(channel: Any, message: bytes) -> str:
    """What a shop's backend computes over `message` (written out, not the helper under test)."""
    return hmac.new(channel.signing_secret.encode(), message, hashlib.sha256).hexdigest()


def test_check_shop_identity_refuses_a_legacy_signature_cut_at_another_bar(shop_channel):
    # The shop vouches for its own customer 2002, whose address is "foo|victim@example.com" ...
    now = int(time.time())
    signature = _hmac_hex(shop_channel, f"2002|foo|victim@example.com|{now}".encode())
    # ... and an attacker moves the cut: customer "2002|foo" with the victim's address.
    forged = ShopIdentity("2002|foo", "victim@example.com", "Mallory", now, signature)
    with pytest.raises(PermissionDenied) as error:
        check_shop_identity(channel=shop_channel, identity=forged)
    assert error.value.code == "bad_signature"


def test_check_shop_identity_refuses_a_canonical_signature_cut_elsewhere(shop_channel):
    now = int(time.time())
    signature = identity_sign(
        channel=shop_channel, customer_id="2002", email="foo|victim@example.com", timestamp=now
    )
    forged = ShopIdentity("2002|foo", "victim@example.com", "Mallory", now, signature)
    with pytest.raises(PermissionDenied):
        check_shop_identity(channel=shop_channel, identity=forged)


def test_identity_message_is_the_documented_length_prefixed_form():
    message = identity_message("2002", "foo|victim@example.com", 1700000000)
    assert message == b"relay-identity-v2\n4:2002\n22:foo|victim@example.com\n1700000000"
    # Lengths count UTF-8 bytes; an empty field is "0:".
    assert identity_message("zo\u00eb", "", 5) == b"relay-identity-v2\n4:zo\xc3\xab\n0:\n5"


def test_check_shop_identity_accepts_the_canonical_form_written_out_by_a_shop(shop_channel):
    now = int(time.time())
    email = "foo|bar@example.com"  # a bar is legal in an address; the canonical form keeps it
    message = f"relay-identity-v2\n4:2002\n{len(email)}:{email}\n{now}".encode()
    identity = ShopIdentity("2002", email, "Foo", now, _hmac_hex(shop_channel, message))
    check_shop_identity(channel=shop_channel, identity=identity)


def test_check_shop_identity_accepts_the_legacy_form_without_bars(shop_channel):
    # Shops that integrated before the canonical form keep working.
    now = int(time.time())
    signature = _hmac_hex(shop_channel, f"shop-42|ada@example.com|{now}".encode())
    check_shop_identity(
        channel=shop_channel,
        identity=ShopIdentity("shop-42", "ada@example.com", "Ada", now, signature),
    )
    email_only = _hmac_hex(shop_channel, f"|ada@example.com|{now}".encode())
    check_shop_identity(
        channel=shop_channel, identity=ShopIdentity("", "ada@example.com", "Ada", now, email_only)
    )


def test_check_shop_identity_refuses_the_legacy_form_when_a_field_has_a_bar(shop_channel):
    # Even the shop's own signature: the legacy bytes cannot say where such a field ends.
    now = int(time.time())
    signature = _hmac_hex(shop_channel, f"2002|foo|bar@example.com|{now}".encode())
    with pytest.raises(PermissionDenied) as error:
        check_shop_identity(
            channel=shop_channel,
            identity=ShopIdentity("2002", "foo|bar@example.com", "Foo", now, signature),
        )
    assert error.value.code == "bad_signature"


@pytest.mark.parametrize("field", ["customer_id", "email"])
def test_check_shop_identity_refuses_control_characters_in_either_form(shop_channel, field):
    now = int(time.time())
    values = {"customer_id": "shop-42", "email": "ada@example.com"}
    values[field] = "shop\n42" if field == "customer_id" else "ada@example.com\r"
    canonical = identity_sign(channel=shop_channel, timestamp=now, **values)
    legacy = _hmac_hex(
        shop_channel, f"{values['customer_id']}|{values['email']}|{now}".encode()
    )
    for signature in (canonical, legacy):
        identity = ShopIdentity(name="Ada", timestamp=now, signature=signature, **values)
        with pytest.raises(PermissionDenied) as error:
            check_shop_identity(channel=shop_channel, identity=identity)
        assert error.value.code == "bad_signature"
