"""Redis high availability: a primary and a replica under three Sentinels. The primary is killed (SIGKILL) in
the middle of delivering; the Sentinels promote the replica, the deliverer reconnects through them, and
every alert reaches the receiver exactly once (claims and outcomes wait for the replica before going on)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

from redis.asyncio import Redis

from contracts.clients import TRANSIENT
from tests.alerts.rig import rig
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
        r = await rig({**env, "LISTWATCH_REDIS_SENTINELS": sentinels.addresses,
                       "LISTWATCH_REDIS_SENTINEL_MASTER": "listwatch", "LISTWATCH_REDIS_WAIT_REPLICAS": "1"}, url)
        await r.store.replicated()

        failover: dict[str, float] = {}

        async def kill_primary_midway() -> None:
            await wait_for(lambda: len(hook.requests) >= 15, within=60, interval=0.01)
            sentinels.primary.kill()
            failover["killed"] = time.monotonic()
            await wait_for(lambda: _primary_port_is(sentinels.replica.port), within=60)
            failover["promoted"] = time.monotonic()

        async def _primary_port_is(port: int) -> bool:
            return await _primary_port(sentinels) == port

        killer = asyncio.create_task(kill_primary_midway())
        try:
            await asyncio.wait_for(r.deliver_all(limit=10), timeout=120)
            await killer
        finally:
            killer.cancel()
            await r.close()
        assert Counter(h["webhook-id"] for h, _ in hook.requests) == Counter({a.alert_id: 1 for a in r.alerts})
        assert r.dead == []
        print(f"Sentinel failover: replica promoted {failover['promoted'] - failover['killed']:.1f}s after the kill")
    finally:
        sentinels.stop()
