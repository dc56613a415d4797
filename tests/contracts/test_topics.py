"""ensure_topics on the real broker: the quarantine is kept until deleted, the other topics keep the broker's
retention."""

from __future__ import annotations

import asyncio

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from contracts.settings import CommonSettings
from contracts.topics import Topics, ensure_topics


async def _configs(settings: CommonSettings, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    await admin.start()
    try:
        values: dict[str, str] = {}
        for _ in range(30):  # a broker that has not applied the new topic yet answers with no configs
            [config] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
            error_code, _message, _type, _name, entries = config.resources[0][:5]
            values = {c[0]: c[1] for c in entries}
            if error_code == 0 and "retention.ms" in values:
                return values
            await asyncio.sleep(0.5)
        return values
    finally:
        await admin.close()


async def test_the_quarantine_is_kept_until_deleted(kafka: str, settings: CommonSettings, topics: Topics) -> None:
    await ensure_topics(settings, topics)
    assert (await _configs(settings, topics.quarantine))["retention.ms"] == "-1"
    assert (await _configs(settings, topics.changes))["retention.ms"] != "-1"
