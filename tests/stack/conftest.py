"""The stack tier: the Procfile's processes on PostgreSQL + Redis, driven over HTTP and
websockets. Runs in the PostgreSQL + Redis pass (it needs a PostgreSQL server to create its
scratch database in, and redis-server to start its own Redis)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.stack.clients import Console
from tests.stack.harness import Stack
from tests.support.fake_twilio import FakeTwilio
from tests.support.loadgen import Senders, Target, open_loop

ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "stack-auth-token-0123456789"
AGENT = ("stackagent", "Stack-pass-4821-x")


# Every stack test module starts with `pytestmark = STACK`.
STACK = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.stack]


@dataclass
class Running:
    stack: Stack
    twilio: FakeTwilio
    channel_id: int
    channel_public_id: str
    sla_sid: str = ""  # a message whose one-minute SLA runs while the other tests do

    def target(self) -> Target:
        return Target(
            base_url=self.stack.url,
            public_base_url=self.stack.url,
            channel_public_id=self.channel_public_id,
            auth_token=AUTH_TOKEN,
            account_sid=ACCOUNT_SID,
        )

    def console(self) -> Console:
        console = Console(self.stack.url)
        response = console.sign_in(*AGENT)
        assert response.status_code == 302, response.text[:300]
        return console


def sms_channel(stack: Stack, name: str, sender: str) -> Target:
    """Create a Twilio SMS channel with the operator's command; where to send its webhooks."""
    made = json.loads(
        stack.manage(
            "create_channel", "twilio-sms", "--name", name,
            "--account-sid", ACCOUNT_SID, "--auth-token", AUTH_TOKEN, "--sender", sender,
        )
    )
    return Target(
        base_url=stack.url,
        public_base_url=stack.url,
        channel_public_id=made["inbound_url"].rstrip("/").split("/")[-2],
        auth_token=AUTH_TOKEN,
        account_sid=ACCOUNT_SID,
        to=sender,
        channel_id=int(made["id"]),
    )


def stack_agent(stack: Stack) -> None:
    stack.manage("create_agent", "--username", AGENT[0], "--password-stdin", stdin=AGENT[1] + "\n")


def start_running(**env: str) -> Iterator[Running]:
    twilio = FakeTwilio().start()
    try:
        with Stack.start(twilio.base_url, **env) as stack:
            target = sms_channel(stack, "Stack SMS", "+15005550006")
            stack_agent(stack)
            running = Running(stack, twilio, target.channel_id, target.channel_public_id)
            running.sla_sid = _start_sla_probe(running)
            yield running
    finally:
        twilio.stop()


def _start_sla_probe(running: Running) -> str:
    """A channel whose SLA rule gives a one-minute first response, and one customer message on
    it, sent as the stack starts: the breach test checks the running worker caught the breach
    once and in time, without the tier waiting a minute just for it."""
    stack = running.stack
    probe = sms_channel(stack, "Stack SLA probe", "+15005550007")
    stack.shell(
        "from helpdesk.sla.models import SLAPolicy, SLARule; "
        "p = SLAPolicy.objects.create(name='Stack one minute', first_response_minutes=1, "
        "warn_percent=50); "
        f"SLARule.objects.create(policy=p, position=0, channel_id={probe.channel_id})"
    )
    (shot,) = asyncio.run(open_loop(probe, count=1, rate=1, senders=Senders(1, "+4793")))
    assert shot.status == 200, shot
    return shot.sid


@pytest.fixture(scope="session")
def running() -> Iterator[Running]:
    """One stack shared by the tier's tests (they use their own senders and conversations);
    a test that needs other settings starts its own with `start_running(**env)`."""
    yield from start_running()
