"""Beyond one machine: a three-node KRaft cluster from the same jars, topics created by listwatch with
replication factor 3 and min.insync.replicas 2, the monitor's publisher (acks=all, idempotent). One broker
killed with SIGKILL mid-stream: every change arrives, none twice; a consumer group commits across it."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient

from contracts.models import ChangeKind, ListChange
from contracts.settings import CommonSettings
from contracts.topics import Topics, ensure_topics
from monitor.publisher import ChangePublisher
from tests.factories import change, entry
from tests.servers import KafkaCluster, topic_configs_of

EVENTS, BATCH = 3000, 100


async def _ready(bootstrap: str, brokers: int, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while True:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=3000)
        try:
            await admin.start()
            cluster = await admin.describe_cluster()
            if len(cluster["brokers"]) >= brokers:
                return
        except Exception:  # noqa: BLE001, S110 - not up yet
            pass
        finally:
            await admin.close()
        if time.monotonic() > deadline:
            raise TimeoutError(f"{brokers} brokers not up within {within}s")
        await asyncio.sleep(0.5)


async def test_a_broker_killed_mid_stream_loses_and_duplicates_nothing(tmp_path: Path, env: dict[str, str]) -> None:
    cluster = KafkaCluster(tmp_path / "kafka", 3)
    cluster.start_all()
    publisher: ChangePublisher | None = None
    try:
        await _ready(cluster.bootstrap, 3)
        common = CommonSettings.from_env({**env, "LISTWATCH_KAFKA_BOOTSTRAP": cluster.bootstrap,
                                          "LISTWATCH_KAFKA_REPLICATION_FACTOR": "3"})  # fmt: skip
        assert common.kafka_min_insync_replicas == 2  # the default for three copies
        topics = Topics.for_settings(common)
        await ensure_topics(common, topics)
        admin = AIOKafkaAdminClient(bootstrap_servers=cluster.bootstrap)
        await admin.start()
        try:
            [described] = await admin.describe_topics([topics.changes])
            assert {len(p["replicas"]) for p in described["partitions"]} == {3}
            values = await topic_configs_of(admin, topics.changes, "min.insync.replicas")
            assert values.get("min.insync.replicas") == "2", values
        finally:
            await admin.close()

        publisher = ChangePublisher(common, topics)
        await publisher.start()
        changes: list[ListChange] = [
            change(ChangeKind.ADDED, after=entry(key=str(i), name=f"CLUSTER TEST {i} LTD")) for i in range(EVENTS)
        ]
        slowest = 0.0
        for n, start in enumerate(range(0, EVENTS, BATCH)):
            if n == EVENTS // BATCH // 3:
                cluster.kill(1)  # a third of the way in; the other two keep the ISR at min.insync
            began = time.monotonic()
            await publisher.publish(changes[start : start + BATCH])  # returns once acked by 2 of 3
            slowest = max(slowest, time.monotonic() - began)

        consumer = AIOKafkaConsumer(topics.changes, bootstrap_servers=cluster.bootstrap,
                                    group_id=f"{common.namespace}.reader", auto_offset_reset="earliest",
                                    enable_auto_commit=False)  # fmt: skip
        await consumer.start()
        seen: Counter[str] = Counter()
        try:
            deadline = time.monotonic() + 60
            while sum(seen.values()) < EVENTS and time.monotonic() < deadline:
                for records in (await consumer.getmany(timeout_ms=1000, max_records=2000)).values():
                    seen.update(ListChange.loads(r.value).event_id for r in records)
                await consumer.commit()
        finally:
            await consumer.stop()
        assert seen == Counter({c.event_id: 1 for c in changes})
        print(f"three brokers, one killed mid-stream: slowest acknowledged batch {slowest:.2f}s")
    finally:
        if publisher is not None:
            await publisher.stop()
        cluster.stop_all()
