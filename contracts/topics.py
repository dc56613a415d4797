"""Every Kafka topic name, message key and consumer group, defined once.

Topic names carry the namespace (``LISTWATCH_NAMESPACE``) so that deployments and test runs sharing a
broker never meet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from contracts.settings import CommonSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Topics:
    # ListChange events from the monitor, keyed by change_key(): all changes of one entry stay ordered.
    changes: str
    # The ListChange events of a baseline (the first snapshot ever seen of a list), keyed like changes: a lane
    # of their own, so that a million-entry baseline never holds up an addition to another list.
    baselines: str
    # EnrichedChange events after dedupe and enrichment, keyed like changes.
    enriched: str
    # WatchEvent events from the API and the CLI, keyed by alert_key(subscriber).
    watches: str
    # Alert events for subscribers, keyed by alert_key(): one subscriber's alerts stay ordered.
    alerts: str
    # Alerts whose delivery failed for good, keyed like alerts.
    dead_letters: str
    # Events a stream worker could not process for a reason other than an outage (a bug, unforeseen data,
    # corrupt state), each set aside as it was (its own key and value) with the QUARANTINE_* headers; put back
    # on their topic by `listwatch quarantine replay`. Kept until deleted (retention.ms -1).
    quarantine: str

    @classmethod
    def for_settings(cls, settings: CommonSettings) -> Topics:
        ns = settings.namespace
        return cls(
            changes=f"{ns}.changes.v1",
            baselines=f"{ns}.changes.baseline.v1",
            enriched=f"{ns}.changes.enriched.v1",
            watches=f"{ns}.watches.v1",
            alerts=f"{ns}.alerts.v1",
            dead_letters=f"{ns}.alerts.dead.v1",
            quarantine=f"{ns}.quarantine.v1",
        )

    def all(self) -> tuple[str, ...]:
        return (
            self.changes, self.baselines, self.enriched, self.watches, self.alerts, self.dead_letters,
            self.quarantine,
        )  # fmt: skip

    def for_change(self, baseline: bool) -> str:
        """Where the monitor publishes a change: baselines on their own lane."""
        return self.baselines if baseline else self.changes


@dataclass(frozen=True, slots=True)
class Groups:
    # The faust app id of the stream workers (faust names its consumer group after it): the watches and the
    # enriched topic. Workers before 2026-12-01 read the changes topic in it too (see ``changes``).
    streams: str
    # The stream workers' changes lanes (streams/lane.py): a consumer of their own. A partition it has no offset
    # for starts where ``streams`` left it.
    changes: str
    # The stream workers' baseline lanes (streams/lane.py).
    baselines: str
    # The alerts services, consuming the alerts topic into the delivery queue.
    alerts_delivery: str
    # `listwatch quarantine replay`: its committed offsets mark what was put back.
    quarantine_replay: str

    @classmethod
    def for_settings(cls, settings: CommonSettings) -> Groups:
        ns = settings.namespace
        return cls(
            streams=f"{ns}.streams", changes=f"{ns}.streams-changes", baselines=f"{ns}.streams-baseline",
            alerts_delivery=f"{ns}.alerts-delivery", quarantine_replay=f"{ns}.quarantine-replay",
        )  # fmt: skip

    def reads(self, topics: Topics) -> dict[str, tuple[str, ...]]:
        """Every group, with the topics it reads: its lag is measured on these only (a group keeps offsets of a topic it
        read before an upgrade, which would look like lag that never shrinks)."""
        return {
            self.streams: (topics.watches, topics.enriched), self.changes: (topics.changes,),
            self.baselines: (topics.baselines,), self.alerts_delivery: (topics.alerts,),
            self.quarantine_replay: (topics.quarantine,),
        }  # fmt: skip


# Headers of a quarantined record: the topic it came from, the lane that failed it, the error, and when (ISO).
QUARANTINE_ORIGIN = "listwatch-origin"
QUARANTINE_LANE = "listwatch-lane"
QUARANTINE_ERROR = "listwatch-error"
QUARANTINE_AT = "listwatch-quarantined-at"


def change_key(source: str, entry_key: str) -> bytes:
    """Key of the changes topic: the list and the entry's key on it."""
    return f"{source}\x1f{entry_key}".encode()


def alert_key(subscriber_id: str) -> bytes:
    """Key of the alerts and dead-letter topics."""
    return subscriber_id.encode()


def topic_configs(settings: CommonSettings, kept: bool = False) -> dict[str, str]:
    """Broker-side settings of every topic we create: with replication, a write is acknowledged (acks=all)
    only once ``min.insync.replicas`` brokers have it, so losing one broker loses nothing. ``kept``: never
    deleted by age (the quarantine: what is there waits for a fix, however long that takes)."""
    configs = {"min.insync.replicas": str(settings.kafka_min_insync_replicas)}
    if kept:
        configs["retention.ms"] = "-1"
    return configs


async def ensure_topics(settings: CommonSettings, topics: Topics) -> None:
    """Create our topics with the configured partitions and replication (faust would create them too, but
    the monitor may come first)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        await admin.start()  # inside: a broker down at start still closes the client
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(
                name,
                num_partitions=settings.kafka_partitions,
                replication_factor=settings.kafka_replication_factor,
                topic_configs=topic_configs(settings, kept=name == topics.quarantine),
            )
            for name in topics.all()
            if name not in existing
        ]
        if missing:
            # Another process may create one between our list and our create.
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
            await _until_visible(admin, [t.name for t in missing])
    finally:
        await admin.close()


async def drop_topics(settings: CommonSettings, namespaces: Collection[str]) -> list[str]:
    """Delete every topic of these namespaces (``{ns}.*``), as a finished test session or benchmark does with
    its own: a broker keeps every partition's files, and left behind they add up. Measured on 2026-12-01,
    the local broker held 18,630 partitions from old test and benchmark runs, started in 114 s instead of
    a few, and took about 6 % of a core while idle. Returns the names deleted; a topic someone else deleted
    meanwhile is no error, any other refusal is."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import UnknownTopicOrPartitionError

    prefixes = tuple(f"{ns}." for ns in namespaces)
    if not prefixes:
        return []
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        await admin.start()
        names = sorted(name for name in await admin.list_topics() if name.startswith(prefixes))
        deleted: list[str] = []
        for start in range(0, len(names), 500):  # a request of a sensible size, however many are left
            answer = await admin.delete_topics(names[start : start + 500])
            refused = {t: code for t, code in answer.topic_error_codes if code}
            if set(refused.values()) - {UnknownTopicOrPartitionError.errno}:
                raise RuntimeError(f"Kafka refused to delete topics (name: error code): {refused}")
            deleted.extend(t for t, code in answer.topic_error_codes if not code)
    finally:
        await admin.close()
    return sorted(deleted)


async def _until_visible(admin: Any, names: list[str], within_s: float = 30.0) -> None:
    """Return once the broker's metadata lists every new topic with its partitions: a consumer that joins
    its group before that gets no partitions, and faust would not look again for minutes."""
    deadline = asyncio.get_running_loop().time() + within_s
    while True:
        try:
            described = await admin.describe_topics(names)
            if all(t.get("error_code", 0) == 0 and t.get("partitions") for t in described):
                return
        except Exception:  # noqa: BLE001, S110 - not visible yet: ask again
            pass
        if asyncio.get_running_loop().time() > deadline:
            log.warning("topics %s not visible in the broker's metadata after %.0fs", names, within_s)
            return
        await asyncio.sleep(0.2)


async def ensure_topics_when_up(
    settings: CommonSettings, topics: Topics, stop: asyncio.Event | None = None
) -> None:
    """``ensure_topics``, waiting for Kafka with backoff: a service started before its broker waits for it
    (readiness false meanwhile) rather than exiting."""
    from contracts.clients import TRANSIENT, Backoff

    backoff = Backoff(base=0.5, cap=10.0)
    while True:
        try:
            await ensure_topics(settings, topics)
        except TRANSIENT as exc:
            if stop is not None and stop.is_set():
                raise
            log.warning("Kafka not reachable at %s (%s); retrying", settings.kafka_bootstrap, exc)
            await backoff.wait(stop)
        else:
            return
