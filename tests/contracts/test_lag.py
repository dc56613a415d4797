from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from prometheus_client import CollectorRegistry

from contracts.lag import LagMonitor
from contracts.settings import CommonSettings
from contracts.topics import Groups, Topics, ensure_topics
from tests.servers import commit_offsets


async def test_lag_of_a_consumer_group_on_the_real_broker(kafka: str, settings: CommonSettings, topics: Topics) -> None:
    await ensure_topics(settings, topics)
    producer = AIOKafkaProducer(bootstrap_servers=kafka)
    await producer.start()
    try:
        for i in range(10):
            await producer.send_and_wait(topics.alerts, b"x", key=str(i % 3).encode())
    finally:
        await producer.stop()
    group = Groups.for_settings(settings).alerts_delivery
    consumer = AIOKafkaConsumer(topics.alerts, bootstrap_servers=kafka, group_id=group,
                                auto_offset_reset="earliest", enable_auto_commit=False)  # fmt: skip
    await consumer.start()
    try:
        seen = 0
        while seen < 4:
            batch = await consumer.getmany(timeout_ms=5000, max_records=4 - seen)
            assert batch, "no messages"
            seen += sum(len(v) for v in batch.values())
        await consumer.commit()
    finally:
        await consumer.stop()
    registry = CollectorRegistry()
    # the group's offsets on a topic it no longer reads (as the faust group's on the changes topic, read by
    # the changes lane since 2026-12-01) are no lag
    await commit_offsets(kafka, group, {TopicPartition(topics.changes, 0): 0})
    reads = {group: [topics.alerts], f"{settings.namespace}.nobody": [topics.alerts]}
    lag = await LagMonitor(settings, reads, registry).measure()
    assert lag == {(group, topics.alerts): 6}
    assert registry.get_sample_value("listwatch_consumer_lag_messages", {"group": group, "topic": topics.alerts}) == 6
