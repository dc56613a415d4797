"""Processes killed with SIGKILL at the worst moment, then restarted, on the real stack:
- a monitor in the middle of publishing a real baseline: the restarted one publishes the same events again
  (same deterministic ids, all still baseline), never an "added"; its state is saved once, complete;
- the Kafka broker (test-owned, single node) in the middle of a stream of changes: the stream worker and the
  alerts service ride out the restart, and every alert arrives once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp.test_utils import TestServer
from aiokafka import AIOKafkaConsumer
from redis.asyncio import Redis

from alerts.service import AlertsService
from alerts.settings import AlertsSettings
from alerts.sinks.console import FileSink
from contracts.clients import ride_out
from contracts.models import Alert, ChangeKind, ListChange
from contracts.settings import CommonSettings
from contracts.topics import Topics, ensure_topics
from monitor.diff import read_snapshot
from monitor.listserver import ListServer
from monitor.publisher import ChangePublisher
from monitor.snapshot import from_path
from monitor.sources.ofac_sdn import OfacSdn
from monitor.state import SnapshotStore
from streams.watchlists import WatchEntry, WatchlistStore
from tests.conftest import wait_for
from tests.factories import change, entry
from tests.integration.conftest import Worker
from tests.integration.test_kafka_cluster import _ready
from tests.servers import KafkaCluster
from tests.snapshots import materialise


async def _changes(common: CommonSettings, topics: Topics, seen: list[ListChange], stop: asyncio.Event) -> None:
    consumer = AIOKafkaConsumer(topics.changes, topics.baselines, bootstrap_servers=common.kafka_bootstrap,
                                group_id=f"{common.namespace}.chaos-reader", auto_offset_reset="earliest")  # fmt: skip
    await consumer.start()
    try:
        while not stop.is_set():
            for records in (await consumer.getmany(timeout_ms=50, max_records=5000)).values():
                seen.extend(ListChange.loads(r.value) for r in records)
    finally:
        await consumer.stop()


async def test_monitor_killed_mid_baseline_publishes_the_same_events_again(
    kafka: str, redis: Redis, env: dict[str, str], tmp_path: Path, settings: CommonSettings, topics: Topics,
    aiohttp_server: Callable[..., Awaitable[TestServer]],
) -> None:  # fmt: skip
    snapshot = materialise("ofac_sdn", "watchman_2021-07", tmp_path / "lists")
    source = OfacSdn()
    expected = len(read_snapshot(source, from_path(source.info, snapshot), "x").entries)
    http = await aiohttp_server(ListServer(tmp_path / "lists", {"ofac_sdn": ["watchman_2021-07"]}).app())
    await ensure_topics(settings, topics)
    proc_env = {**os.environ, **env, "LISTWATCH_MONITOR_SOURCES": "ofac_sdn", "LISTWATCH_MONITOR_PORT": "0",
                "LISTWATCH_SOURCE_OFAC_SDN_URL": str(http.make_url("/ofac_sdn/")),
                "LISTWATCH_SOURCE_OFAC_SDN_SCHEDULE_S": "2", "LISTWATCH_LEASE_TTL_S": "2",
                "LISTWATCH_MONITOR_WORK_DIR": str(tmp_path / "work")}  # fmt: skip

    def start(n: int) -> subprocess.Popen[bytes]:
        with (tmp_path / f"monitor-{n}.log").open("wb") as log:
            return subprocess.Popen([sys.executable, "-m", "monitor"], env=proc_env, stdout=log,
                                    stderr=subprocess.STDOUT)  # fmt: skip

    seen: list[ListChange] = []
    stop = asyncio.Event()
    reader = asyncio.create_task(_changes(settings, topics, seen, stop))
    first = start(1)
    try:
        await wait_for(lambda: len(seen) > 0, within=60, interval=0.01)
        first.send_signal(signal.SIGKILL)  # mid-publish: the state is not saved yet
        first.wait(timeout=30)
        before_restart = len({c.event_id for c in seen})
        assert before_restart < expected, "the monitor finished before it was killed; nothing was tested"
        assert not await redis.exists(f"{settings.namespace}:monitor:ofac_sdn:entries")
        second = start(2)
        try:
            await wait_for(lambda: redis.exists(f"{settings.namespace}:monitor:ofac_sdn:entries"), within=120)
            await asyncio.sleep(3)  # a wrong extra publication would show up here
        finally:
            second.terminate()
            second.wait(timeout=30)
    finally:
        stop.set()
        await reader
    ids = Counter(c.event_id for c in seen)
    assert len(ids) == expected  # every entry, once by id; repeats carry the same id and are dropped downstream
    assert all(c.baseline and c.change == "added" for c in seen)
    assert len(await SnapshotStore(redis, settings, "check").entries("ofac_sdn")) == expected


async def test_kafka_broker_killed_and_restarted_mid_stream(tmp_path: Path, env: dict[str, str], redis: Redis) -> None:
    cluster = KafkaCluster(tmp_path / "kafka", 1)
    cluster.start_all()
    worker: Worker | None = None
    service: AlertsService | None = None
    stop = asyncio.Event()
    run: asyncio.Task[None] | None = None
    try:
        await _ready(cluster.bootstrap, 1)
        own = {**env, "LISTWATCH_KAFKA_BOOTSTRAP": cluster.bootstrap}
        common = CommonSettings.from_env(own)
        topics = Topics.for_settings(common)
        await ensure_topics(common, topics)
        store = WatchlistStore(redis, common)
        names = [f"Chaoskraft Number{i} Trading" for i in range(40)]
        for i, name in enumerate(names):
            await store.put(WatchEntry(subscriber_id="s", id=f"w{i}", name=name))
        worker = Worker(own, tmp_path)
        worker.start()
        path = tmp_path / "alerts.jsonl"
        service = AlertsService(AlertsSettings.from_env({**own, "LISTWATCH_API_PORT": "0", "LISTWATCH_METRICS_PORT": "0"}),
                                [FileSink(path)])  # fmt: skip
        await service.start()
        run = asyncio.create_task(service.run(stop))

        def delivered() -> list[Alert]:
            return [Alert.loads(line) for line in path.read_bytes().splitlines()] if path.exists() else []

        publisher = ChangePublisher(common, topics)
        await publisher.start()
        try:
            changes = [change(ChangeKind.ADDED, after=entry(key=str(500 + i), name=n.upper())) for i, n in enumerate(names)]
            await publisher.publish(changes[:20])
            await wait_for(lambda: len(delivered()) >= 20, within=120)
            cluster.kill(0)
            killed = time.monotonic()
            await asyncio.sleep(3)
            cluster.start(0)
            # The monitor retries a failed publish with the same events (ride_out, as its next check would).
            await ride_out(lambda: publisher.publish(changes[20:]), "publish")
            await wait_for(lambda: len(delivered()) >= 40, within=180)
            recovered = time.monotonic() - killed
            await asyncio.sleep(3)
        finally:
            await publisher.stop()
        got = delivered()
        assert Counter(a.watch_id for a in got) == Counter({f"w{i}": 1 for i in range(40)})
        assert worker.alive(), "the stream worker died with the broker"
        print(f"broker killed and restarted after 3 s: all 40 alerts delivered {recovered:.1f}s after the kill")
    finally:
        stop.set()
        if run is not None:
            await run
        if service is not None:
            await service.stop()
        if worker is not None:
            worker.stop()
        cluster.stop_all()
