"""Redis killed (SIGKILL) and restarted under running services: the monitor keeps watching its lists, the API
answers 503 (never 500) during the outage and 200 on the first call after it, delivery resumes within
seconds and delivers each alert exactly once. Each test owns its Redis (tests/servers.py); Kafka is the
shared broker."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from alerts.api import Deps, build_api
from alerts.delivery import Deliverer
from alerts.metrics import AlertsMetrics
from alerts.settings import AlertsSettings
from alerts.store import AlertStore
from contracts.clients import redis_client
from contracts.topics import Topics, ensure_topics
from monitor.fetch import Fetcher, RetryPolicy
from monitor.listserver import ListServer
from monitor.metrics import MonitorMetrics
from monitor.publisher import ChangePublisher
from monitor.service import MonitorService
from monitor.settings import MonitorSettings
from monitor.sources.ofac_sdn import OfacSdn
from monitor.state import SnapshotStore
from streams.list_state import ListStateStore
from streams.watchlists import WatchlistStore
from tests.alerts.conftest import ADMIN, auth
from tests.alerts.rig import rig
from tests.conftest import Receiver, wait_for
from tests.integration.test_monitor_service import drain
from tests.servers import RedisServer
from tests.snapshots import materialise


@pytest.fixture
def own_redis(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    server.start()
    try:
        yield server  # type: ignore[misc]
    finally:
        server.stop()


async def test_monitor_keeps_watching_through_a_redis_restart(
    kafka: str, env: dict[str, str], tmp_path: Path, own_redis: RedisServer,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> None:  # fmt: skip
    sequence = ["gitscrape_2021-11-10", "gitscrape_2021-11-12"]
    for snapshot in sequence:
        materialise("ofac_sdn", snapshot, tmp_path / "lists")
    lists = ListServer(tmp_path / "lists", {"ofac_sdn": sequence})
    http = await aiohttp_server(lists.app())
    settings = MonitorSettings.from_env({
        **env, "LISTWATCH_REDIS_URL": own_redis.url, "LISTWATCH_MONITOR_SOURCES": "ofac_sdn",
        "LISTWATCH_SOURCE_OFAC_SDN_URL": str(http.make_url("/ofac_sdn/")), "LISTWATCH_SOURCE_OFAC_SDN_SCHEDULE_S": "1",
        "LISTWATCH_LEASE_TTL_S": "3", "LISTWATCH_MONITOR_WORK_DIR": str(tmp_path / "work"),
    })  # fmt: skip
    common, topics = settings.common, Topics.for_settings(settings.common)
    await ensure_topics(common, topics)
    redis = redis_client(common)
    fetcher = Fetcher(timeout_s=30, max_bytes=50_000_000, user_agent="test", policy=RetryPolicy(1, 0.05), concurrency=2)
    publisher = ChangePublisher(common, topics)
    await fetcher.start()
    await publisher.start()
    service = MonitorService(settings, [OfacSdn()], fetcher, SnapshotStore(redis, common, "m1"), publisher,
                             MonitorMetrics())  # fmt: skip
    stop = asyncio.Event()
    run = asyncio.create_task(service.run(stop))
    try:
        baseline = await wait_for(lambda: drain(common, topics, "reader"), within=60)
        assert len(baseline) == 9139
        await asyncio.sleep(1.5)  # the AOF is written before replies; give everysec its second anyway

        own_redis.kill()
        await wait_for(lambda: service.metrics.outages._value.get() > 0, within=30)
        await asyncio.sleep(2)
        assert not run.done(), run.exception() if run.done() else None
        own_redis.start()
        lists.advance("ofac_sdn")  # the list moves while the monitor recovers

        changes = await wait_for(lambda: drain(common, topics, "reader"), within=60)
        assert Counter(c.change for c in changes) == {"added": 6, "removed": 43, "modified": 21}
        assert not any(c.baseline for c in changes)  # the state survived the kill (AOF): no new baseline
        assert not run.done()
    finally:
        stop.set()
        await asyncio.gather(run, return_exceptions=True)
        await publisher.stop()
        await fetcher.stop()
        await redis.aclose()


async def test_api_is_unavailable_during_the_outage_and_answers_right_after(
    env: dict[str, str], own_redis: RedisServer, aiohttp_client: Callable[..., Awaitable[TestClient]]
) -> None:
    settings = AlertsSettings.from_env({**env, "LISTWATCH_REDIS_URL": own_redis.url, "LISTWATCH_ADMIN_TOKEN": ADMIN,
                                        "LISTWATCH_API_PORT": "0", "LISTWATCH_METRICS_PORT": "0"})  # fmt: skip
    redis = redis_client(settings.common)
    store = AlertStore(redis, settings.common)

    async def nothing(_: object) -> None:
        return None

    deliverer = Deliverer(settings, store, {}, [], nothing, AlertsMetrics())  # type: ignore[arg-type]
    deps = Deps(settings=settings, store=store, watches=WatchlistStore(redis, settings.common),
                lists=ListStateStore(redis, settings.common), deliverer=deliverer, channels={},
                publish_watch_events=nothing)  # type: ignore[arg-type]  # fmt: skip
    client = await aiohttp_client(build_api(deps))
    try:
        created = await client.post("/v1/subscribers", json={"name": "Acme"}, headers=auth(ADMIN))
        key = auth((await created.json())["api_key"])
        assert (await client.get("/v1/watchlist", headers=key)).status == 200

        own_redis.kill()
        down = await client.get("/v1/watchlist", headers=key)
        assert down.status == 503
        assert down.headers["Retry-After"]
        assert (await down.json())["error"]["code"] == "unavailable"

        own_redis.start()
        # The pool still holds connections to the dead server: the first call must not fail on them.
        first = await client.get("/v1/watchlist", headers=key)
        assert first.status == 200, await first.text()
    finally:
        await redis.aclose()


async def test_delivery_resumes_within_seconds_and_delivers_once(
    env: dict[str, str], own_redis: RedisServer, receiver: tuple[Receiver, str]
) -> None:
    hook, url = receiver
    r = await rig({**env, "LISTWATCH_REDIS_URL": own_redis.url}, url)
    timings: dict[str, float] = {}

    async def outage_after_some() -> None:
        # Kill Redis once some deliveries are through, with the rest of a batch claimed by this process.
        await wait_for(lambda: len(hook.requests) >= 10, within=30, interval=0.01)
        own_redis.kill()
        await asyncio.sleep(3)
        own_redis.start()
        timings["restarted"] = asyncio.get_running_loop().time()

    outage = asyncio.create_task(outage_after_some())
    try:
        await asyncio.wait_for(r.deliver_all(), timeout=90)
        await outage
    finally:
        outage.cancel()
        await r.close()
    seen = Counter(h["webhook-id"] for h, _ in hook.requests)
    assert seen == Counter({a.alert_id: 1 for a in r.alerts})
    assert r.dead == []
    done = asyncio.get_running_loop().time() - timings["restarted"]
    print(f"Redis SIGKILLed for 3 s mid-batch: the last of 60 webhooks {done:.1f}s after the restart")
