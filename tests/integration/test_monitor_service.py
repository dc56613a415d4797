"""The monitor against the local list server (real OFAC snapshots), the real Kafka and the real Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestServer
from aiokafka import AIOKafkaConsumer
from redis.asyncio import Redis

from contracts.models import ListChange
from contracts.settings import CommonSettings
from contracts.topics import Topics, ensure_topics
from monitor.fetch import Fetcher, RetryPolicy
from monitor.listserver import ListServer
from monitor.metrics import MonitorMetrics
from monitor.publisher import ChangePublisher
from monitor.service import MonitorService, Outcome
from monitor.settings import MonitorSettings
from monitor.sources.ofac_sdn import OfacSdn
from monitor.state import SnapshotStore
from tests.conftest import wait_for
from tests.snapshots import materialise, real_files

SEQUENCE = ["gitscrape_2021-11-10", "gitscrape_2021-11-12", "gitscrape_2024-05-04"]
Factory = Callable[[str], Awaitable[MonitorService]]


@pytest.fixture
async def list_server(
    aiohttp_server: Callable[..., Awaitable[TestServer]], tmp_path: Path
) -> tuple[ListServer, TestServer]:
    for snapshot in SEQUENCE:
        materialise("ofac_sdn", snapshot, tmp_path / "lists")
    server = ListServer(tmp_path / "lists", {"ofac_sdn": SEQUENCE})
    return server, await aiohttp_server(server.app())


@pytest.fixture
async def monitor_factory(
    kafka: str, redis: Redis, env: dict[str, str], tmp_path: Path, list_server: tuple[ListServer, TestServer]
) -> AsyncIterator[Factory]:
    _, http = list_server
    settings = MonitorSettings.from_env(
        {
            **env,
            "LISTWATCH_MONITOR_SOURCES": "ofac_sdn",
            "LISTWATCH_SOURCE_OFAC_SDN_URL": str(http.make_url("/ofac_sdn/")),
            "LISTWATCH_SOURCE_OFAC_SDN_SCHEDULE_S": "1",
            "LISTWATCH_HTTP_RETRIES": "2",
            "LISTWATCH_HTTP_BACKOFF_S": "0.05",
            "LISTWATCH_LEASE_TTL_S": "2",
            "LISTWATCH_MONITOR_WORK_DIR": str(tmp_path / "work"),
        }
    )
    await ensure_topics(settings.common, Topics.for_settings(settings.common))
    cleanups: list[Callable[[], Awaitable[None]]] = []

    async def make(owner: str) -> MonitorService:
        fetcher = Fetcher(timeout_s=30, max_bytes=50_000_000, user_agent="test", policy=RetryPolicy(2, 0.05),
                          concurrency=2)  # fmt: skip
        await fetcher.start()
        publisher = ChangePublisher(settings.common, Topics.for_settings(settings.common))
        await publisher.start()
        cleanups.extend([fetcher.stop, publisher.stop])
        store = SnapshotStore(redis, settings.common, owner)
        return MonitorService(settings, [OfacSdn()], fetcher, store, publisher, MonitorMetrics())

    yield make
    for cleanup in reversed(cleanups):
        await cleanup()


async def drain(settings: CommonSettings, topics: Topics, group: str) -> list[ListChange]:
    """Everything on the changes and baselines topics not yet read by ``group``."""
    consumer = AIOKafkaConsumer(
        topics.changes, topics.baselines, bootstrap_servers=settings.kafka_bootstrap, group_id=f"{settings.namespace}.{group}",
        auto_offset_reset="earliest", enable_auto_commit=False,
    )  # fmt: skip
    await consumer.start()
    try:
        out: list[ListChange] = []
        while batches := await consumer.getmany(timeout_ms=3000, max_records=5000):
            for records in batches.values():
                out.extend(ListChange.loads(r.value) for r in records)
        await consumer.commit()
        return out
    finally:
        await consumer.stop()


async def test_baseline_change_restart_and_broken_downloads(
    monitor_factory: Factory, list_server: tuple[ListServer, TestServer], settings: CommonSettings, topics: Topics,
    redis: Redis,
) -> None:  # fmt: skip
    server, http = list_server
    first = await monitor_factory("replica-a")
    assert await first._store.acquire("ofac_sdn", 120)  # held across three checks; not renewed here

    # 1. First snapshot: a baseline, never "added".
    assert await first.check("ofac_sdn") is Outcome.CHANGED
    baseline = await drain(settings, topics, "reader")
    assert len(baseline) == 9139
    assert all(c.baseline for c in baseline)

    # 2. The next real snapshot, but the connection drops mid-body on every attempt: nothing published.
    server.advance("ofac_sdn")
    async with ClientSession() as client:
        await client.post(http.make_url("/_fault/ofac_sdn"), params={"truncate": "1", "times": "3"})
    assert await first.check("ofac_sdn") is Outcome.FAILED
    assert await drain(settings, topics, "reader") == []

    # 3. The same snapshot behind two 500s: retried, then exactly the published difference.
    async with ClientSession() as client:
        await client.post(http.make_url("/_fault/ofac_sdn"), params={"status": "500", "times": "2"})
    assert await first.check("ofac_sdn") is Outcome.CHANGED
    changes = await drain(settings, topics, "reader")
    counts = {k: sum(c.change == k for c in changes) for k in ("added", "removed", "modified")}
    assert counts == {"added": 6, "removed": 43, "modified": 21}
    assert not any(c.baseline for c in changes)
    # Only the records whose fingerprint moved were parsed (the saved fingerprints of step 1 were used);
    # the rest were reused unread, and the fingerprints saved now are the new snapshot's.
    records = first.metrics.records
    assert records.labels("ofac_sdn", "parsed")._value.get() == 9139 + 6 + 21
    assert records.labels("ofac_sdn", "reused")._value.get() == 9102 - 6 - 21
    prints, version = await first._store.prints("ofac_sdn")
    assert prints is not None
    assert len(prints) == 9102
    assert version == OfacSdn.fingerprint_version

    # 4. A restarted monitor (new process, same Redis) sees the same file: nothing published twice.
    await first._store.release("ofac_sdn")
    second = await monitor_factory("replica-b")
    assert await second._store.acquire("ofac_sdn", 120)
    assert await second.check("ofac_sdn") in {Outcome.NOT_MODIFIED, Outcome.UNCHANGED}
    assert await drain(settings, topics, "reader") == []

    # 5. The real 0-byte download of 2024-05-04: rejected, nothing published, state kept.
    server.advance("ofac_sdn")
    assert await second.check("ofac_sdn") is Outcome.REJECTED
    assert await drain(settings, topics, "reader") == []
    meta = await second._store.meta("ofac_sdn")
    assert meta.count == 9102
    rejected = second.metrics.rejections.labels("ofac_sdn", "empty")._value.get()
    assert rejected == 1


async def test_replicas_share_sources_and_take_over(
    monitor_factory: Factory, settings: CommonSettings, topics: Topics
) -> None:
    a, b = await monitor_factory("replica-a"), await monitor_factory("replica-b")
    stop_a, stop_b = asyncio.Event(), asyncio.Event()
    run_a = asyncio.create_task(a.run(stop_a))
    await wait_for(lambda: a.held == {"ofac_sdn"}, within=10)
    run_b = asyncio.create_task(b.run(stop_b))
    try:
        baseline = await wait_for(lambda: drain(settings, topics, "reader"), within=30)
        assert len(baseline) == 9139
        await asyncio.sleep(3)  # several schedule periods and lease renewals
        assert b.held == frozenset()
        assert await drain(settings, topics, "reader") == []
        # replica a dies without releasing (cancel, then forget its lease is ours): b takes over.
        run_a.cancel()
        await asyncio.gather(run_a, return_exceptions=True)
        await wait_for(lambda: b.held == {"ofac_sdn"}, within=10)
        await asyncio.sleep(2)
        assert await drain(settings, topics, "reader") == []
    finally:
        stop_a.set()
        stop_b.set()
        await asyncio.gather(run_a, run_b, return_exceptions=True)


async def test_index_page_crawl_publishes_the_notices_entities(
    kafka: str, redis: Redis, env: dict[str, str], tmp_path: Path, settings: CommonSettings, topics: Topics,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> None:
    """cn_mofcom through the service: an index page links notice pages; the monitor fetches the index,
    follows the links (LinkedFiles), and publishes the entities of the notices as a baseline."""
    from monitor.sources.cn_mofcom import CnMofcom

    notices = real_files("cn_mofcom", "notices")
    snap = tmp_path / "lists" / "cn_mofcom" / "s1"
    snap.mkdir(parents=True)
    chosen = ["unreliable-entity-list-202507.md", "import-export-control-list-202611.md"]
    for name in chosen:
        (snap / name).symlink_to(notices[name].resolve())
    links = "".join(f'<li><a href="{n}">不可靠实体清单 / 管控名单 公告 {n}</a></li>' for n in chosen)
    (snap / "index.html").write_text(f"<html><body><ul>{links}<li><a href='x.html'>其他新闻</a></li></ul></body></html>",
                                     encoding="utf-8")  # fmt: skip
    server = ListServer(tmp_path / "lists", {"cn_mofcom": ["s1"]})
    http = await aiohttp_server(server.app())
    monitor_settings = MonitorSettings.from_env({
        **env, "LISTWATCH_MONITOR_SOURCES": "cn_mofcom",
        "LISTWATCH_SOURCE_CN_MOFCOM_URL": str(http.make_url("/cn_mofcom/index.html")),
        "LISTWATCH_MONITOR_WORK_DIR": str(tmp_path / "work"),
    })
    await ensure_topics(settings, topics)
    fetcher = Fetcher(timeout_s=30, max_bytes=10_000_000, user_agent="test", policy=RetryPolicy(1, 0.05), concurrency=2)
    publisher = ChangePublisher(settings, topics)
    await fetcher.start()
    await publisher.start()
    try:
        service = MonitorService(monitor_settings, [CnMofcom()], fetcher, SnapshotStore(redis, settings, "m"),
                                 publisher, MonitorMetrics())  # fmt: skip
        assert await service._store.acquire("cn_mofcom", 120)
        assert await service.check("cn_mofcom") is Outcome.CHANGED
    finally:
        await publisher.stop()
        await fetcher.stop()
    changes = await drain(settings, topics, "reader")
    assert len(changes) == 11 + 20  # 11 UEL entities of 〔2025〕7号, 20 export-control listings of 2026-02-24
    assert all(c.baseline for c in changes)
    names = {c.current.name for c in changes}
    assert "Mitsubishi Heavy Industries Shipbuilding Co." in names
