"""ensure_topics on the real broker: the quarantine is kept until deleted, the other topics keep the broker's
retention. drop_topics deletes a namespace's topics and no other's."""

from __future__ import annotations

from aiokafka.admin import AIOKafkaAdminClient

from contracts.settings import CommonSettings
from contracts.topics import Topics, drop_topics, ensure_topics
from tests.conftest import wait_for
from tests.servers import topic_configs_of, topics_gone


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


async def test_dropping_a_namespace_deletes_its_topics_only(
    kafka: str, settings: CommonSettings, topics: Topics, namespaces: set[str]
) -> None:
    # a namespace the first one is a prefix of, but for the dot: its topics must stay
    longer = CommonSettings.from_env({"LISTWATCH_KAFKA_BOOTSTRAP": kafka, "LISTWATCH_NAMESPACE": f"{settings.namespace}x"})
    namespaces.add(longer.namespace)
    others = Topics.for_settings(longer)
    await ensure_topics(settings, topics)
    await ensure_topics(longer, others)

    assert await drop_topics(settings, [settings.namespace]) == sorted(topics.all())
    # the broker's metadata may list a deleted topic for a moment after the controller took the deletion
    left = await wait_for(lambda: topics_gone(settings.kafka_bootstrap, topics.all()), within=30)
    assert set(others.all()) <= left
    assert await drop_topics(settings, [settings.namespace]) == []  # nothing left of it: no error
    assert await drop_topics(settings, []) == []
