"""Redis high availability: a primary and a replica under three Sentinels. The primary is killed (SIGKILL) in
the middle of delivering; the Sentinels promote the replica, the deliverer reconnects through them, and
every alert reaches the receiver exactly once (claims and outcomes wait for the replica before going on)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

from redis.asyncio import Redis

from alerts.delivery import Deliverer
from alerts.metrics import AlertsMetrics
from alerts.settings import AlertsSettings
from alerts.sinks.base import Channel
from alerts.sinks.webhook import WebhookSink
from alerts.store import AlertStore, Endpoint, now
from contracts.clients import TRANSIENT, redis_client
from contracts.models import Alert
from tests.alerts.test_delivery import alerts_for
from tests.conftest import Receiver, wait_for
from tests.servers import RedisSentinelSet


async def _primary_port(sentinels: RedisSentinelSet) -> int | None:
    client = Redis(host="127.0.0.1", port=sentinels.sentinel_ports[0])
    try:
        addr = await client.execute_command("SENTINEL", "get-master-addr-by-name", sentinels.name)
        return int(addr[1]) if addr else None
    except TRANSIENT:
        return None
    finally:
        await client.aclose()


async def _replica_in_sync(sentinels: RedisSentinelSet) -> bool:
    client = Redis(host="127.0.0.1", port=sentinels.replica.port)
    try:
        info = await client.info("replication")
        return info.get("master_link_status") == "up"
    finally:
        await client.aclose()


async def test_primary_killed_mid_delivery_fails_over_and_delivers_once(
    tmp_path: Path, env: dict[str, str], receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    sentinels = RedisSentinelSet(tmp_path / "redis")
    sentinels.start()
    try:
        await wait_for(lambda: _replica_in_sync(sentinels), within=30)
        await wait_for(lambda: _primary_port(sentinels), within=30)
        settings = AlertsSettings.from_env({
            **env, "LISTWATCH_REDIS_SENTINELS": sentinels.addresses, "LISTWATCH_REDIS_SENTINEL_MASTER": "listwatch",
            "LISTWATCH_REDIS_WAIT_REPLICAS": "1", "LISTWATCH_WEBHOOK_RATE": "1000",
            "LISTWATCH_WEBHOOK_ALLOW": "127.0.0.0/8", "LISTWATCH_RETRY_SCHEDULE_S": "0,0.2,0.5,1,1,1,1,1",
        })  # fmt: skip
        redis = redis_client(settings.common)
        store = AlertStore(redis, settings.common)
        dead: list[Alert] = []

        async def dead_letter(alert: Alert) -> None:
            dead.append(alert)

        webhook = WebhookSink(settings)
        channels: dict[str, Channel] = {"webhook": webhook}
        deliverer = Deliverer(settings, store, channels, [], dead_letter, AlertsMetrics())
        sub, _ = await store.create_subscriber("Acme")
        await store.put_endpoint(sub, Endpoint(id="ep_1", type="webhook", target=url, created_at=now(),
                                               secret="whsec_" + "A" * 32))  # fmt: skip
        alerts = alerts_for(sub, 60)
        for alert in alerts:
            await deliverer.accept(alert)
        await store.replicated()

        failover: dict[str, float] = {}

        async def kill_primary_midway() -> None:
            await wait_for(lambda: len(hook.requests) >= 15, within=60, interval=0.01)
            sentinels.primary.kill()
            failover["killed"] = time.monotonic()
            await wait_for(lambda: _primary_port_is(sentinels.replica.port), within=60)
            failover["promoted"] = time.monotonic()

        async def _primary_port_is(port: int) -> bool:
            return await _primary_port(sentinels) == port

        async def queue_left() -> int:
            try:
                return await store.queue_length()
            except TRANSIENT:
                await asyncio.sleep(0.2)
                return 1

        async def deliver() -> None:
            while await queue_left():
                try:
                    if not await deliverer.run_due(limit=10):
                        await asyncio.sleep(0.05)
                except TRANSIENT:
                    await asyncio.sleep(0.2)

        killer = asyncio.create_task(kill_primary_midway())
        try:
            await asyncio.wait_for(deliver(), timeout=120)
            await killer
        finally:
            killer.cancel()
            await webhook.aclose()
            await redis.aclose()
        assert Counter(h["webhook-id"] for h, _ in hook.requests) == Counter({a.alert_id: 1 for a in alerts})
        assert dead == []
        print(f"Sentinel failover: replica promoted {failover['promoted'] - failover['killed']:.1f}s after the kill")
    finally:
        sentinels.stop()
