"""The fake Twilio API answers the Messages list the way Twilio documents it, so the code that
reads it (reconciliation) is tested against Twilio's shapes through the real library."""

from __future__ import annotations

import pytest
from django.utils import timezone
from twilio.base.exceptions import TwilioException

from channels_app.twilio.client import client_for
from tests.channels_app.twilio.support import ACCOUNT_SID, SENDER

pytestmark = pytest.mark.django_db


def test_fake_twilio_lists_created_messages_newest_first_in_pages(fake_twilio, wa_channel):
    api = client_for(wa_channel).messages
    sids = [api.create(to="+4790000041", from_=SENDER, body=f"n{n}").sid for n in range(5)]
    api.create(to="+4790000042", from_=SENDER, body="someone else")
    api.create(to="+4790000041", from_="+15005550007", body="another sender")
    listed = list(api.stream(to="+4790000041", from_=SENDER, page_size=2))
    assert [m.sid for m in listed] == sids[::-1]
    assert [m.body for m in listed] == ["n4", "n3", "n2", "n1", "n0"]
    assert all(m.direction == "outbound-api" and m.date_created for m in listed)
    pages = fake_twilio.lists()
    assert len(pages) == 3  # 2, 2 and 1, following next_page_uri
    assert pages[0].path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert pages[2].query["Page"] == ["2"]
    assert len(fake_twilio.created()) == 7


def test_fake_twilio_refuses_date_sent_filters_it_does_not_model(fake_twilio, wa_channel):
    with pytest.raises(TwilioException):
        client_for(wa_channel).messages.page(to="+4790000041", date_sent_after=timezone.now())
