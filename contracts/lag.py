"""Consumer lag per group and topic, read from the broker (committed offsets against log end offsets)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from contextlib import AsyncExitStack

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CollectorRegistry, Gauge

from contracts.settings import CommonSettings


class LagMonitor:
    """Sets ``listwatch_consumer_lag_messages{group,topic}`` for the given consumer groups, each on the topics it
    reads (``Groups.reads``): offsets a group committed on other topics are not its lag."""

    def __init__(
        self, settings: CommonSettings, groups: Mapping[str, Collection[str]], registry: CollectorRegistry
    ) -> None:
        self._settings = settings
        self._groups = {group: frozenset(topics) for group, topics in groups.items()}
        self.lag = Gauge(
            "listwatch_consumer_lag_messages", "Messages not yet consumed, per consumer group and topic.",
            ["group", "topic"], registry=registry,
        )  # fmt: skip

    async def measure(self) -> dict[tuple[str, str], int]:
        bootstrap = self._settings.kafka_bootstrap
        async with AsyncExitStack() as stack:
            # Closed whatever happens, a broker down at start included.
            admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
            stack.push_async_callback(admin.close)
            await admin.start()
            consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
            stack.push_async_callback(consumer.stop)
            await consumer.start()
            out: dict[tuple[str, str], int] = {}
            for group, reads in self._groups.items():
                committed = {
                    tp: meta for tp, meta in (await admin.list_consumer_group_offsets(group)).items()
                    if tp.topic in reads
                }  # fmt: skip
                if not committed:
                    continue
                ends = await consumer.end_offsets(list(committed))
                per_topic: dict[str, int] = {}
                for tp, meta in committed.items():
                    if meta.offset >= 0:
                        per_topic[tp.topic] = per_topic.get(tp.topic, 0) + max(0, ends[tp] - meta.offset)
                for topic, lag in per_topic.items():
                    out[(group, topic)] = lag
                    self.lag.labels(group, topic).set(lag)
            return out
