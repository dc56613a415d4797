from __future__ import annotations

from aiokafka import AIOKafkaConsumer

from contracts.models import ChangeKind, ListChange
from contracts.settings import CommonSettings
from contracts.topics import Topics, change_key, ensure_topics
from monitor.publisher import ChangePublisher
from tests.factories import change, entry


async def test_publish_round_trips_through_the_real_broker(
    kafka: str, settings: CommonSettings, topics: Topics
) -> None:
    await ensure_topics(settings, topics)
    # A baseline goes to its own lane; the other changes to the changes topic.
    sent = [change(ChangeKind.ADDED, after=entry(key=str(k), name=f"ENTITY {k}"), baseline=k < 5) for k in range(20)]
    publisher = ChangePublisher(settings, topics)
    await publisher.start()
    try:
        assert await publisher.publish(sent) == 20
    finally:
        await publisher.stop()

    consumer = AIOKafkaConsumer(
        topics.changes,
        topics.baselines,
        bootstrap_servers=kafka,
        group_id=f"{settings.namespace}.reader",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        received: list[tuple[str, bytes, ListChange]] = []
        while len(received) < len(sent):
            batches = await consumer.getmany(timeout_ms=10_000)
            assert batches, f"only {len(received)} of {len(sent)} messages arrived"
            for records in batches.values():
                received.extend((r.topic, r.key, ListChange.loads(r.value)) for r in records)
    finally:
        await consumer.stop()
    assert sorted(c.event_id for _, _, c in received) == sorted(c.event_id for c in sent)
    assert all(key == change_key("ofac_sdn", c.entry_key) for _, key, c in received)
    assert all(topic == (topics.baselines if c.baseline else topics.changes) for topic, _, c in received)
    assert sum(c.baseline for _, _, c in received) == 5
