"""Benchmarks against the running system: the Procfile's processes (release, web, worker,
ingest) on a scratch PostgreSQL database and their own Redis on loopback, as the stack tests
start them (tests/stack/harness.py), with the fake Twilio API. Traffic goes to loopback only
and is bounded in count and time.

    .venv/bin/python bench/stack.py                      # every scenario
    .venv/bin/python bench/stack.py accept burst         # some
    .venv/bin/python bench/stack.py --env WEB_CONCURRENCY=2 accept

Scenarios:
  accept   closed loop, 32 clients, 10 s of signed SMS webhooks (what Twilio's retries cost us)
  burst    open loop, 500 msg/s for 10 s; then the time until the backlog is processed, and
           whether every message was stored exactly once
  screen   open loop at 20 msg/s for 10 s with 100 agent sockets: POST-to-screen latency
  worker   1000 no-op django-q tasks through the worker
  idle     4,000 agent and 1,000 widget websockets held open with heartbeats: memory of web
Prints one markdown table per scenario (the numbers in bench/RESULTS.md come from here).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from websockets.asyncio.client import connect  # noqa: E402

from tests.stack.clients import Console  # noqa: E402
from tests.stack.conftest import AGENT, sms_channel, stack_agent  # noqa: E402
from tests.stack.harness import Stack, wait_until  # noqa: E402
from tests.support.fake_twilio import FakeTwilio  # noqa: E402
from tests.support.loadgen import Senders, Target, closed_loop, open_loop, summary  # noqa: E402


def table(title: str, rows: list[tuple[str, Any]]) -> None:
    print(f"\n### {title}\n\n| what | measured |\n|---|---|")
    for name, value in rows:
        print(f"| {name} | {value} |")
    sys.stdout.flush()


def percentile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def processed(stack: Stack, sids: list[str]) -> int:
    return stack.scalar(
        "SELECT count(*) FROM conversations_message WHERE external_id = ANY(%s)", sids
    )


def drain(stack: Stack, sids: list[str], timeout: float) -> float:
    started = time.monotonic()
    wait_until(lambda: processed(stack, sids) >= len(set(sids)), timeout=timeout, interval=0.2)
    return time.monotonic() - started


def scenario_accept(stack: Stack, target: Target) -> None:
    shots, elapsed = asyncio.run(
        closed_loop(target, concurrency=32, seconds=10, senders=Senders(500, "+4781"))
    )
    result = summary(shots)
    backlog = drain(stack, [s.sid for s in shots], timeout=300)
    table(
        "accept: closed loop, 32 clients, 10 s",
        [
            ("requests", result.sent),
            ("throughput", f"{result.sent / elapsed:.0f} msg/s"),
            ("answers", result.statuses),
            ("latency p50 / p99 / max", f"{result.p50_ms} / {result.p99_ms} / {result.max_ms} ms"),
            ("backlog processed after the load stopped", f"{backlog:.1f} s"),
        ],
    )


def scenario_burst(stack: Stack, target: Target) -> None:
    shots = asyncio.run(open_loop(target, count=5000, rate=500, senders=Senders(1000, "+4782")))
    result = summary(shots)
    sids = [s.sid for s in shots if s.status == 200]
    backlog = drain(stack, sids, timeout=300)
    rows = stack.sql(
        "SELECT count(*), count(DISTINCT external_id) FROM conversations_message "
        "WHERE external_id = ANY(%s)",
        sids,
    )[0]
    table(
        "burst: open loop, 500 msg/s for 10 s",
        [
            ("requests", result.sent),
            ("answers", result.statuses),
            ("latency p50 / p99 / max", f"{result.p50_ms} / {result.p99_ms} / {result.max_ms} ms"),
            ("messages stored (distinct provider ids)", f"{rows[0]} ({rows[1]})"),
            ("backlog processed after the burst", f"{backlog:.1f} s"),
            ("end-to-end processing rate", f"{len(sids) / (10 + backlog):.0f} msg/s"),
        ],
    )


async def _screen(stack: Stack, target: Target, cookie: str, sockets: int, rate: float) -> Any:
    received: list[list[tuple[int, float]]] = [[] for _ in range(sockets)]
    url = stack.url.replace("http", "ws", 1) + "/ws/console/"
    connections = [
        await connect(url, additional_headers={"Cookie": cookie, "Origin": stack.url})
        for _ in range(sockets)
    ]
    for ws in connections:
        json.loads(await ws.recv())  # hello

    async def listen(n: int, ws: Any) -> None:
        try:
            async for frame in ws:
                event = json.loads(frame)
                if event.get("type") == "message.created":
                    received[n].append((event["message_id"], time.time()))
        except Exception:  # noqa: S110 - the socket closes at the end
            pass

    listeners = [asyncio.create_task(listen(n, ws)) for n, ws in enumerate(connections)]
    shots = await open_loop(target, count=int(rate * 10), rate=rate, senders=Senders(50, "+4783"))
    await asyncio.sleep(3)
    for ws in connections:
        await ws.close()
    await asyncio.gather(*listeners, return_exceptions=True)
    return shots, received


def scenario_screen(stack: Stack, target: Target, sockets: int = 100, rate: float = 20) -> None:
    console = Console(stack.url)
    console.sign_in(*AGENT)
    shots, received = asyncio.run(_screen(stack, target, console.cookie_header(), sockets, rate))
    sent = {s.sid: s.started for s in shots if s.status == 200}
    ids = dict(
        stack.sql(
            "SELECT id, external_id FROM conversations_message WHERE external_id = ANY(%s)",
            list(sent),
        )
    )
    latencies = []
    lost = 0
    for per_socket in received:
        seen = {message_id: at for message_id, at in per_socket if message_id in ids}
        lost += len(ids) - len(seen)
        latencies += [(at - sent[ids[m]]) * 1000 for m, at in seen.items()]
    table(
        f"screen: {rate:.0f} msg/s for 10 s, {sockets} agent sockets",
        [
            ("messages", len(sent)),
            ("deliveries to sockets", len(latencies)),
            ("lost", lost),
            (
                "POST to screen p50 / p99 / max",
                f"{percentile(latencies, 50):.0f} / {percentile(latencies, 99):.0f} / "
                f"{max(latencies, default=0):.0f} ms",
            ),
        ],
    )


def scenario_worker(stack: Stack) -> None:
    stack.shell(
        "from django_q.tasks import async_task\nfor i in range(1000): async_task('math.sqrt', i)"
    )
    started = time.monotonic()
    wait_until(
        lambda: stack.scalar("SELECT count(*) FROM django_q_ormq") == 0, timeout=300, interval=0.2
    )
    elapsed = time.monotonic() - started
    table(
        "worker: 1000 no-op tasks (django-q2, ORM broker, PostgreSQL)",
        [("all done in", f"{elapsed:.1f} s"), ("rate", f"{1000 / elapsed:.0f} tasks/s")],
    )


def _rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (uvicorn workers), in MiB."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(c) for c in children.read_text().split()]
    for each in pids:
        for line in Path(f"/proc/{each}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


async def _idle(stack: Stack, cookie: str, widget: str, agents: int, visitors: int) -> int:
    import aiohttp

    base = stack.url.replace("http", "ws", 1)
    shop = "https://shop.bench.example"
    tokens = []
    async with aiohttp.ClientSession() as http:
        for _ in range(visitors):
            async with http.post(
                f"{stack.url}/widget/api/{widget}/session", json={}, headers={"Origin": shop}
            ) as response:
                tokens.append((await response.json())["token"])
    sockets = []
    for n in range(agents):
        sockets.append(
            await connect(
                f"{base}/ws/console/",
                additional_headers={"Cookie": cookie, "Origin": stack.url},
                open_timeout=30,
            )
        )
        if n % 500 == 499:
            await asyncio.sleep(0.5)
    for token in tokens:
        ws = await connect(
            f"{base}/ws/widget/?channel={widget}", additional_headers={"Origin": shop},
            open_timeout=30,
        )
        await ws.send(json.dumps({"type": "auth", "token": token}))
        sockets.append(ws)
    await asyncio.sleep(2)

    async def heartbeat(ws: Any) -> None:
        await ws.send(json.dumps({"type": "ping"}))

    await asyncio.gather(*(heartbeat(ws) for ws in sockets), return_exceptions=True)
    await asyncio.sleep(5)
    open_sockets = sum(1 for ws in sockets if ws.state.name == "OPEN")
    rss = _rss_mb(stack.processes["web"].pid)
    for ws in sockets:
        await ws.close()
    return open_sockets, rss


def scenario_idle(stack: Stack, target: Target, agents: int = 4000, visitors: int = 1000) -> None:
    del target
    console = Console(stack.url)
    console.sign_in(*AGENT)
    widget = stack.shell(
        "from helpdesk.inboxes.models import Channel; c = Channel.objects.create("
        "kind='web_widget', name='Bench widget', settings={'allowed_origins': "
        "['https://shop.bench.example'], 'rate_limits': {'session_per_ip': 100000, "
        "'socket_per_ip': 100000}}); print(c.public_id)"
    ).strip()
    before = _rss_mb(stack.processes["web"].pid)
    open_sockets, rss = asyncio.run(_idle(stack, console.cookie_header(), widget, agents, visitors))
    table(
        f"idle: {agents} agent + {visitors} widget websockets with heartbeats",
        [
            ("sockets open after a heartbeat round", f"{open_sockets} of {agents + visitors}"),
            ("web RSS before / with the sockets", f"{before:.0f} / {rss:.0f} MiB"),
            ("per socket", f"{(rss - before) * 1024 / max(open_sockets, 1):.0f} KiB"),
        ],
    )


SCENARIOS = ["accept", "burst", "screen", "worker", "idle"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenarios", nargs="*", default=SCENARIOS, help=" ".join(SCENARIOS))
    parser.add_argument("--env", action="append", default=[], help="NAME=value for the stack")
    args = parser.parse_args()
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {sorted(unknown)}")
    env = dict(item.split("=", 1) for item in args.env)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    print(
        f"## {time.strftime('%Y-%m-%d %H:%M')} · commit {commit} · {platform.machine()}, "
        f"{os.cpu_count()} cores · env {env or 'defaults'}"
    )
    twilio = FakeTwilio().start()
    try:
        with Stack.start(twilio.base_url, **env) as stack:
            target = sms_channel(stack, "Bench SMS", "+15005550006")
            stack_agent(stack)
            for name in args.scenarios:
                if name == "worker":
                    scenario_worker(stack)
                else:
                    globals()[f"scenario_{name}"](stack, target)
    finally:
        twilio.stop()


if __name__ == "__main__":
    main()
