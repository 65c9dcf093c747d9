"""The raw ASGI accept route for Twilio webhooks, driven through the project's ASGI
application: signature, clear refusals, one stored row, and nothing else in the request.

Transactional tests: on PostgreSQL the accept pool's own connection must see the channel."""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import HttpCommunicator

from channels_app.ingest import channels as channel_cache
from channels_app.ingest.processor import ingest_drain
from channels_app.ingest.store import accept_pool
from channels_app.models import RawInbound
from channels_app.twilio import config
from config.asgi import application
from helpdesk.conversations.models import Message
from helpdesk.inboxes.models import Channel
from tests.channels_app.twilio.support import inbound_url, make_channel, payload, sign


@pytest.fixture(autouse=True)
def _fresh_channel_cache():
    channel_cache.forget_all()
    yield
    channel_cache.forget_all()


def post(url: str, params: dict[str, str], *, signature: str | None = "auto", **kw: Any) -> dict:
    """One signed POST through the ASGI application (its own event loop, so the accept pool is
    closed before returning)."""

    async def go() -> dict:
        try:
            return await post_async(url, params, signature=signature, **kw)
        finally:
            await accept_pool.close()

    return async_to_sync(go)()


async def post_async(
    url: str, params: dict[str, str], *, signature: str | None = "auto", **kw: Any
) -> dict:
    from django.conf import settings

    if signature == "auto":
        signature = sign(url, params, **kw)
    headers = [(b"content-type", b"application/x-www-form-urlencoded")]
    if signature is not None:
        headers.append((b"x-twilio-signature", signature.encode()))
    path = url[len(settings.PUBLIC_BASE_URL) :]
    communicator = HttpCommunicator(
        application, "POST", path, body=urlencode(params).encode(), headers=headers
    )
    return await communicator.get_response(timeout=10)


@pytest.mark.django_db(transaction=True)
def test_accept_stores_one_row_and_answers_empty_twiml_without_processing():
    channel = make_channel("sms")
    response = post(inbound_url(channel), payload("sms"))
    assert response["status"] == 200
    assert b"<Response/>" in response["body"]
    row = RawInbound.objects.get()
    assert (row.kind, row.external_id, row.state) == (
        "twilio.message",
        "SM11111111111111111111111111111111",
        "pending",
    )
    assert row.order_key == f"{channel.pk}:+4790000001"
    assert not Message.objects.exists()  # nothing but the row happens in the request
    assert post(inbound_url(channel), payload("sms"))["status"] == 200  # a repeat
    assert RawInbound.objects.count() == 1
    ingest_drain()
    assert Message.objects.get().text == "Hi, where is my order #1042?"


@pytest.mark.django_db(transaction=True)
def test_accept_refuses_forged_malformed_unknown_and_wrong_method():
    channel = make_channel("sms")
    forged = post(inbound_url(channel), payload("sms"), signature="bm90IGEgc2lnbmF0dXJl")
    assert forged["status"] == 403
    unsigned = post(inbound_url(channel), payload("sms"), signature=None)
    assert unsigned["status"] == 403
    malformed = post(inbound_url(channel), payload("sms", MessageSid="nope"))
    assert (malformed["status"], malformed["body"]) == (400, b"MessageSid is not a Twilio SID.")
    unknown = "00000000-0000-0000-0000-000000000000"
    other = inbound_url(channel).replace(str(channel.public_id), unknown)
    assert post(other, payload("sms"))["status"] == 404
    assert not RawInbound.objects.exists()

    async def get() -> dict:
        path = inbound_url(channel).split("8000", 1)[-1]  # PUBLIC_BASE_URL's port
        return await HttpCommunicator(application, "GET", path).get_response(timeout=5)

    assert async_to_sync(get)()["status"] == 405


@pytest.mark.django_db(transaction=True)
def test_accept_refuses_an_oversized_body_with_413():
    channel = make_channel("sms")
    response = post(inbound_url(channel), payload("sms", Body="x" * 300_000), signature="x")
    assert response["status"] == 413
    assert not RawInbound.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_accept_picks_up_a_rotated_auth_token_at_once():
    channel = make_channel("sms")
    assert post(inbound_url(channel), payload("sms"))["status"] == 200  # cached now
    channel.credentials = {**channel.credentials, "auth_token": "rotated-token-0123"}
    channel.save()
    params = payload("sms", MessageSid="SM" + "2" * 32)
    response = post(inbound_url(channel), params, token="rotated-token-0123")
    assert response["status"] == 200
    assert RawInbound.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_accept_status_callback_is_keyed_by_sid_and_status():
    channel = make_channel("whatsapp")
    params = payload("status_delivered", MessageSid="SM" + "3" * 32, SmsSid="SM" + "3" * 32)
    url = config.status_url(channel, message_id=42)
    assert post(url, params)["status"] == 204
    row = RawInbound.objects.get()
    assert (row.kind, row.external_id) == ("twilio.status", "SM" + "3" * 32 + ":delivered")
    assert row.payload["m"] == "42"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_accept_native_path_stores_nul_free_text_postgres_can_hold():
    """PostgreSQL refuses NUL in text and jsonb: the webhook is stored and processed without
    it, never a 500."""
    channel = make_channel("sms")
    params = payload("sms", Body="bad\x00byte", ProfileName="Ann\x00a")
    response = post(inbound_url(channel), params)
    assert response["status"] == 200
    row = RawInbound.objects.get()
    assert row.payload["params"]["Body"] == "badbyte"
    ingest_drain()
    message = Message.objects.get()
    assert message.text == "badbyte"
    assert message.conversation.customer.name == "Anna"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_accept_answers_503_at_once_when_no_connection_is_free(settings):
    """A request that cannot get a database connection within INGEST_POOL_TIMEOUT is told to
    come back (503 + Retry-After); it is never held for seconds."""
    settings.INGEST_POOL_MAX = 1
    settings.INGEST_POOL_TIMEOUT = 0.3
    channel = make_channel("sms")
    held = threading.Event()
    release = threading.Event()

    def hold_a_conflicting_insert() -> None:
        import psycopg

        from helpdesk.core.db import conninfo

        with psycopg.connect(conninfo()) as conn:  # a transaction that is not committed yet
            conn.execute(
                f"INSERT INTO {RawInbound._meta.db_table} (channel_id, kind, external_id, "  # noqa: S608
                "order_key, payload, received_at, state, attempts, available_at, last_error) "
                "VALUES (%s, 'twilio.message', %s, 'k', '{}', now(), 'pending', 0, now(), '')",
                (channel.pk, "SM11111111111111111111111111111111"),
            )
            held.set()
            release.wait(10)
            conn.rollback()

    blocker = threading.Thread(target=hold_a_conflicting_insert)
    blocker.start()
    held.wait(5)

    async def both() -> tuple[dict, dict, float]:
        import asyncio

        try:
            first = asyncio.ensure_future(post_async(inbound_url(channel), payload("sms")))
            await asyncio.sleep(0.3)  # the first holds the only connection, waiting on the lock
            started = time.monotonic()
            other = payload("sms", MessageSid="SM" + "4" * 32)
            second = await post_async(inbound_url(channel), other)
            elapsed = time.monotonic() - started
            release.set()
            return await first, second, elapsed
        finally:
            release.set()
            await accept_pool.close()

    try:
        first, second, elapsed = async_to_sync(both)()
    finally:
        release.set()
        blocker.join()
    assert second["status"] == 503
    assert (b"retry-after", b"1") in second["headers"]
    assert elapsed < 2
    assert first["status"] == 200  # stored once the blocker went away
    assert RawInbound.objects.filter(external_id="SM11111111111111111111111111111111").exists()


@pytest.mark.django_db(transaction=True)
def test_accept_signature_made_without_the_connection_overrides_fragment_is_accepted():
    """The URLs we hand out carry Twilio connection overrides as a fragment, which Twilio never
    sends; a signature over the URL with or without it is accepted."""
    channel = make_channel("sms")
    with_fragment = inbound_url(channel)
    assert "#rc=" in with_fragment
    bare = with_fragment.partition("#")[0]
    assert post(with_fragment, payload("sms"))["status"] == 200
    other = payload("sms", MessageSid="SM" + "5" * 32)
    assert post(bare, other, signature=sign(bare, other))["status"] == 200
    assert RawInbound.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_accept_refuses_unreadable_forms_slow_and_abandoned_bodies(monkeypatch):
    import asyncio

    from channels_app.ingest import asgi

    channel = make_channel("sms")
    too_many = {**payload("sms"), **{f"x{n}": "1" for n in range(1100)}}
    response = post(inbound_url(channel), too_many)
    assert (response["status"], response["body"]) == (400, b"The form could not be read.")

    monkeypatch.setattr(asgi, "READ_SECONDS", 0.3)
    path = inbound_url(channel).partition("#")[0].split("8000", 1)[-1]

    async def slow_then_abandoned() -> tuple[dict, list]:
        slow = HttpCommunicator(application, "POST", path, body=b"")
        slow.sent_request = True
        await slow.send_input({"type": "http.request", "body": b"From=", "more_body": True})
        slow_response = await slow.get_response(timeout=5)  # never sends the rest
        gone = HttpCommunicator(application, "POST", path, body=b"")
        gone.sent_request = True
        await gone.send_input({"type": "http.request", "body": b"From=", "more_body": True})
        await gone.send_input({"type": "http.disconnect"})
        await asyncio.sleep(0.1)
        return slow_response, [await gone.receive_nothing(timeout=0.5)]

    slow_response, nothing = async_to_sync(slow_then_abandoned)()
    assert slow_response["status"] == 408
    assert nothing == [True]  # a client that left gets no answer, and nothing is processed
    assert not RawInbound.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_accept_channel_cache_serves_an_expired_entry_while_it_refreshes(monkeypatch):
    """A webhook never waits for the database because its channel's entry expired: it gets
    the cached channel while one background read refreshes it; made-up ids stay bounded."""
    import time as clock

    channel = make_channel("sms")

    async def scenario() -> tuple:
        first = await channel_cache.channel_for(channel.public_id)
        await sync_to_async(Channel.objects.filter(pk=channel.pk).update)(is_active=False)
        monkeypatch.setattr(channel_cache, "TTL_SECONDS", 0.0)
        clock.sleep(0.01)
        served_stale = await channel_cache.channel_for(channel.public_id)
        for task in list(channel_cache._background):
            await task
        after_refresh = await channel_cache.channel_for(channel.public_id)
        return first, served_stale, after_refresh

    first, served_stale, after_refresh = async_to_sync(scenario)()
    assert first is not None and served_stale is not None  # no wait for the read
    assert after_refresh is None  # the refresh saw the deactivation

    monkeypatch.setattr(channel_cache, "MAX_ENTRIES", 5)

    async def flood() -> int:
        import uuid

        for _ in range(20):
            await channel_cache.channel_for(uuid.uuid4())
        return len(channel_cache._entries)

    assert async_to_sync(flood)() == 5
