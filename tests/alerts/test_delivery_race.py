"""Several deliverers (as several alerts replicas are) on one Redis: every delivery is attempted by exactly
one of them, so the receiver sees each webhook-id once; a crashed deliverer's claims come back in seconds;
a Redis outage in the middle of a batch neither loses nor repeats a delivery."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from redis.asyncio import Redis

from alerts.delivery import Deliverer
from alerts.metrics import AlertsMetrics
from alerts.sinks.base import Channel
from alerts.sinks.webhook import WebhookSink
from alerts.store import AlertStore
from contracts.models import Alert
from tests.alerts.conftest import Stack
from tests.alerts.test_delivery import alerts_for, webhook
from tests.conftest import Receiver, wait_for


async def _deliverers(stack: Stack, n: int, **kw: float) -> list[Deliverer]:
    """``n`` deliverers, each with its own Redis connection pool, as separate processes would have."""
    out = []
    for _ in range(n):
        redis = Redis.from_url(stack.settings.common.redis_url)
        store = AlertStore(redis, stack.settings.common)
        channels: dict[str, Channel] = {"webhook": WebhookSink(stack.settings)}

        async def dead(alert: Alert) -> None:
            stack.dead.append(alert)

        out.append(Deliverer(stack.settings, store, channels, [], dead, AlertsMetrics(), **kw))  # type: ignore[arg-type]
    return out


async def _close(deliverers: list[Deliverer]) -> None:
    for d in deliverers:
        await d._store.redis.aclose()
        for sink in d._channels.values():
            await sink.aclose()


async def _run_until_empty(stack: Stack, deliverers: list[Deliverer], within: float = 90.0) -> None:
    async def loop(d: Deliverer) -> None:
        while await stack.store.queue_length():
            if not await d.run_due(limit=7):
                await asyncio.sleep(0.01)

    await asyncio.wait_for(asyncio.gather(*(loop(d) for d in deliverers)), timeout=within)


@pytest.mark.parametrize("replicas", [2, 3])
async def test_racing_deliverers_deliver_each_alert_exactly_once(
    stack: Stack, receiver: tuple[Receiver, str], replicas: int
) -> None:
    r, url = receiver
    sub, key = await stack.admin("Acme")
    await webhook(stack, key, url)
    alerts = alerts_for(sub, 240)
    for alert in alerts:
        await stack.deliverer.accept(alert)
    deliverers = await _deliverers(stack, replicas)
    try:
        await _run_until_empty(stack, deliverers)
    finally:
        await _close(deliverers)
    seen = Counter(h["webhook-id"] for h, _ in r.requests)
    assert set(seen) == {a.alert_id for a in alerts}
    assert [i for i, n in seen.items() if n > 1] == []
    for alert in alerts[:40]:
        attempts = await stack.store.attempts(f"{alert.alert_id}.{(await stack.store.endpoints(sub))[0].id}")
        assert [a.outcome for a in attempts] == ["delivered"]
    # Work was shared: every replica delivered some.
    assert all(d.metrics.deliveries.labels("webhook", "delivered")._value.get() > 0 for d in deliverers)


async def test_a_crashed_deliverers_claims_come_back_within_the_lease(
    stack: Stack, receiver: tuple[Receiver, str]
) -> None:
    r, url = receiver
    sub, key = await stack.admin("Acme")
    await webhook(stack, key, url)
    alerts = alerts_for(sub, 30)
    for alert in alerts:
        await stack.deliverer.accept(alert)
    crashed, survivor = await _deliverers(stack, 2, lease_s=1.0)
    try:
        claimed = await crashed.store.claim_due(50, 1.0, "crashed-process")  # then it dies: never finishes
        assert len(claimed) == 30
        assert await survivor.run_due() == 0  # leased to the dead process
        loop = asyncio.get_running_loop()
        started = loop.time()
        await wait_for(survivor.run_due, within=10, interval=0.1)
        taken_over_after = loop.time() - started
        await _run_until_empty(stack, [survivor])
    finally:
        await _close([crashed, survivor])
    assert taken_over_after < 8.0  # the lease (1 s here), not minutes
    print(f"a dead deliverer's 30 claims taken over {taken_over_after:.2f}s after (lease 1 s)")
    assert Counter(h["webhook-id"] for h, _ in r.requests) == Counter({a.alert_id: 1 for a in alerts})


async def test_a_long_receiver_outage_delivers_in_order_or_dead_letters_then_replays(
    stack: Stack, aiohttp_server: Any
) -> None:
    """The receiver is down; the schedule (compressed here) runs out for some deliveries: nothing is dropped
    silently, every alert is delivered or dead-lettered and replayable, and what the receiver accepts comes in
    the order the alerts were accepted."""
    from aiohttp import web

    state = {"down": True}
    accepted: list[str] = []

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        if state["down"]:
            return web.Response(status=503)
        accepted.append(request.headers["webhook-id"])
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", handle)
    server = await aiohttp_server(app)
    sub, key = await stack.admin("Acme")
    await webhook(stack, key, str(server.make_url("/hook")))
    alerts = alerts_for(sub, 30)
    for alert in alerts[:20]:
        await stack.deliverer.accept(alert)

    async def pump(seconds: float) -> None:
        end = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < end:
            await stack.deliverer.run_due()
            await asyncio.sleep(0.02)

    # Down through the whole (compressed) schedule of the first 20: they are dead-lettered, none lost.
    await pump(1.5)
    for alert in alerts[20:]:  # more alerts while it is still down
        await stack.deliverer.accept(alert)
    await pump(1.0)
    dead = await (await stack.client.get("/v1/dead-letters", params={"limit": "100"}, headers=key)).json()
    queued = await stack.store.queue_length()
    assert len(dead["items"]) + queued == 30  # each one is either dead (replayable) or still waiting
    assert len(stack.dead) == len(dead["items"]) > 0  # and each dead one went to the dead-letter topic

    # Back up: the waiting ones arrive; the dead ones on replay; in acceptance order within each group.
    state["down"] = False
    await pump(1.5)
    replayed = await (await stack.client.post("/v1/dead-letters/replay", headers=key)).json()
    assert replayed["deliveries"] == len(dead["items"])
    await stack.drain()
    assert sorted(accepted) == sorted(a.alert_id for a in alerts)
    assert len(accepted) == 30
    order = {a.alert_id: i for i, a in enumerate(alerts)}
    dead_ids = {d["alert_id"] for d in dead["items"]}
    waiting = [order[i] for i in accepted if i not in dead_ids]
    revived = [order[i] for i in accepted if i in dead_ids]
    assert waiting == sorted(waiting)
    assert revived == sorted(revived)
