from __future__ import annotations

import asyncio
from pathlib import Path

from redis.asyncio import Redis

from alerts.service import AlertsService
from alerts.settings import AlertsSettings
from alerts.sinks.console import FileSink
from contracts.settings import CommonSettings
from streams.watchlists import WatchEntry, WatchlistStore
from tests.conftest import wait_for


async def test_watchlists_of_the_version_before_move_when_the_service_starts(
    env: dict[str, str], settings: CommonSettings, kafka: str, redis: Redis, tmp_path: Path
) -> None:
    old = settings.redis_key("watchids", "s1")  # the version before's sorted set of ids beside the hash
    await redis.hset(settings.redis_key("watch", "s1"), mapping={f"w{n}": f'{{"name":"C {n}"}}' for n in range(1200)})
    await redis.zadd(old, {f"w{n}": 0 for n in range(1200)})
    service = AlertsService(AlertsSettings.from_env({**env, "LISTWATCH_METRICS_PORT": "0"}), [FileSink(tmp_path / "a")])
    await service.start()
    stop = asyncio.Event()
    task = asyncio.create_task(service.run(stop))
    try:

        async def moved() -> bool:
            assert not task.done(), task
            return await redis.exists(old) == 0

        await wait_for(moved, within=60)
    finally:
        stop.set()
        await task
        await service.stop()
    store = WatchlistStore(redis, settings)
    assert await store.count("s1") == 1200
    assert [e.id for e in (await store.page("s1", "w76", 2))[0]] == ["w760", "w761"]
    assert await store.get("s1", "w77") == WatchEntry(subscriber_id="s1", id="w77", name="C 77")
