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
    sent = [change(ChangeKind.ADDED, after=entry(key=str(k), name=f"ENTITY {k}")) for k in range(20)]
    publisher = ChangePublisher(settings, topics)
    await publisher.start()
    try:
        assert await publisher.publish(sent) == 20
    finally:
        await publisher.stop()

    consumer = AIOKafkaConsumer(
        topics.changes,
        bootstrap_servers=kafka,
        group_id=f"{settings.namespace}.reader",
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        received: list[tuple[bytes, ListChange]] = []
        while len(received) < len(sent):
            batches = await consumer.getmany(timeout_ms=10_000)
            assert batches, f"only {len(received)} of {len(sent)} messages arrived"
            for records in batches.values():
                received.extend((r.key, ListChange.loads(r.value)) for r in records)
    finally:
        await consumer.stop()
    assert sorted(c.event_id for _, c in received) == sorted(c.event_id for c in sent)
    assert all(key == change_key("ofac_sdn", c.entry_key) for key, c in received)
