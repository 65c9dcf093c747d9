from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import cache

from tests.channels_app.twilio.support import make_channel
from tests.support.fake_twilio import FakeTwilio


@pytest.fixture
def fake_twilio(settings: Any) -> Iterator[FakeTwilio]:
    server = FakeTwilio().start()
    settings.TWILIO_API_BASE_URL = server.base_url
    settings.TWILIO_HTTP_TIMEOUT = 0.3
    settings.TWILIO_RETRY_DELAYS = (0.05, 0.1)
    settings.TWILIO_MEDIA_RETRY_DELAYS = (0.01, 0.01)
    settings.TWILIO_SEND_RATE_PER_SECOND = 1000
    cache.clear()
    yield server
    server.stop()


@pytest.fixture
def public_base(settings: Any) -> str:
    settings.PUBLIC_BASE_URL = "https://relay.example.com"
    return settings.PUBLIC_BASE_URL


@pytest.fixture
def wa_channel(db: Any, public_base: str) -> Any:
    return make_channel("whatsapp")


@pytest.fixture
def sms_channel(db: Any, public_base: str) -> Any:
    return make_channel("sms")


@pytest.fixture
def template(wa_channel: Any) -> Any:
    """An approved WhatsApp template with two named variables."""
    from channels_app.models import WhatsAppTemplate

    return WhatsAppTemplate.objects.create(
        channel=wa_channel,
        name="order_update",
        content_sid="HX" + "c" * 32,
        body="Hi {{name}}, order {{order}} has shipped.",
        variables=["name", "order"],
    )
