"""ensure_topics on the real broker: the quarantine is kept until deleted, the other topics keep the broker's
retention."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient

from contracts.settings import CommonSettings
from contracts.topics import Topics, ensure_topics
from tests.servers import topic_configs_of


async def _configs(settings: CommonSettings, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        return await topic_configs_of(admin, topic, "retention.ms")
    finally:
        await admin.close()


async def test_the_quarantine_is_kept_until_deleted(kafka: str, settings: CommonSettings, topics: Topics) -> None:
    await ensure_topics(settings, topics)
    assert (await _configs(settings, topics.quarantine))["retention.ms"] == "-1"
    assert (await _configs(settings, topics.changes))["retention.ms"] != "-1"
