"""Signed Twilio webhook traffic for the stack tests and the benchmarks: open loop (a fixed
rate, as Twilio sends, regardless of how fast we answer) or closed loop (a fixed number of
requests in flight). Every request goes to loopback; counts and durations are bounded.

    shots = await open_loop(target, count=1000, rate=100)
    summary(shots) -> {"sent": 1000, "ok": 1000, "p50_ms": ..., "p99_ms": ..., "statuses": {...}}
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from twilio.request_validator import RequestValidator


@dataclass(frozen=True)
class Target:
    """Where to send: the server's own address, and the public URL Twilio would have signed."""

    base_url: str  # e.g. http://127.0.0.1:8123
    public_base_url: str  # PUBLIC_BASE_URL of the server under test
    channel_public_id: str
    auth_token: str
    account_sid: str = "AC0123456789abcdef0123456789abcdef"
    to: str = "+15005550006"
    channel_id: int = 0  # our id of the channel, where the caller knows it

    @property
    def path(self) -> str:
        return f"/webhooks/twilio/{self.channel_public_id}/inbound"


@dataclass
class Shot:
    sid: str
    status: int  # 0: no answer (timeout or connection error)
    latency: float  # seconds
    error: str = ""
    started: float = 0.0  # time.time() when the request was sent


@dataclass
class Senders:
    """Which customer sends message n: `customers` distinct phone numbers, round robin."""

    customers: int = 200
    prefix: str = "+4790"

    def sender(self, n: int) -> str:
        return f"{self.prefix}{n % self.customers:06d}"


def message_sid() -> str:
    return "SM" + uuid.uuid4().hex


def signed_form(target: Target, *, sid: str, sender: str, body: str) -> tuple[dict[str, str], str]:
    params = {
        "MessageSid": sid,
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "AccountSid": target.account_sid,
        "From": sender,
        "To": target.to,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsStatus": "received",
        "ApiVersion": "2010-04-01",
    }
    url = f"{target.public_base_url}{target.path}"
    return params, RequestValidator(target.auth_token).compute_signature(url, params)


async def _post(
    session: aiohttp.ClientSession, target: Target, n: int, senders: Senders, timeout: float
) -> Shot:
    sid = message_sid()
    params, signature = signed_form(
        target, sid=sid, sender=senders.sender(n), body=f"Load message {n}: where is my order?"
    )
    started = time.perf_counter()
    wall = time.time()
    try:
        async with session.post(
            f"{target.base_url}{target.path}",
            data=params,
            headers={"X-Twilio-Signature": signature},
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as response:
            await response.read()
            return Shot(sid, response.status, time.perf_counter() - started, started=wall)
    except (TimeoutError, aiohttp.ClientError) as exc:
        return Shot(sid, 0, time.perf_counter() - started, type(exc).__name__, started=wall)


def _session(limit: int) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=limit, force_close=False))


async def open_loop(
    target: Target,
    *,
    count: int,
    rate: float,
    senders: Senders | None = None,
    timeout: float = 15.0,
    max_connections: int = 1000,
) -> list[Shot]:
    """Send `count` webhooks at a fixed `rate` per second, not waiting for answers (Twilio
    waits 15 s for each)."""
    senders = senders or Senders()
    async with _session(max_connections) as session:
        tasks = []
        start = time.perf_counter()
        for n in range(count):
            delay = start + n / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(_post(session, target, n, senders, timeout)))
        return list(await asyncio.gather(*tasks))


async def closed_loop(
    target: Target,
    *,
    concurrency: int,
    count: int | None = None,
    seconds: float | None = None,
    senders: Senders | None = None,
    timeout: float = 15.0,
) -> tuple[list[Shot], float]:
    """`concurrency` clients each send, wait for the answer, send again; until `count`
    requests or `seconds` passed. Returns the shots and the elapsed time."""
    senders = senders or Senders()
    shots: list[Shot] = []
    counter = iter(range(10**9))
    start = time.perf_counter()

    def more() -> bool:
        if count is not None and len(shots) >= count:
            return False
        return seconds is None or time.perf_counter() - start < seconds

    async with _session(concurrency) as session:

        async def client() -> None:
            while more():
                shots.append(await _post(session, target, next(counter), senders, timeout))

        await asyncio.gather(*(client() for _ in range(concurrency)))
    return shots, time.perf_counter() - start


@dataclass
class Summary:
    sent: int
    ok: int
    statuses: dict[int, int] = field(default_factory=dict)
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    max_ms: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


def summary(shots: list[Shot]) -> Summary:
    latencies = sorted(s.latency * 1000 for s in shots)
    if not latencies:
        return Summary(0, 0)
    q = statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else None
    return Summary(
        sent=len(shots),
        ok=sum(1 for s in shots if s.status == 200),
        statuses=dict(Counter(s.status for s in shots)),
        p50_ms=round(q[49] if q else latencies[0], 1),
        p99_ms=round(q[98] if q else latencies[0], 1),
        max_ms=round(latencies[-1], 1),
    )
