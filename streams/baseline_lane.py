"""The baseline lane: the entries of a list's first snapshot, consumed beside the faust agents by an aiokafka
consumer in a group of its own, in small batches.

Not a faust agent: faust hands every topic's records to its agents from one fetch loop, and an agent whose
buffer is full holds up the records fetched with its own. Measured with a 30k baseline as a second agent, an
addition waited 0.3 s most of the time but about 4 s every 12 s; on the changes topic itself, minutes. A
consumer of its own holds up nothing but itself; its batches share the event loop, so another change waits
for one batch at most.

Each batch is deduplicated, enriched and matched in one step (``Stages.dedupe_enrich_match``), its alerts are
acknowledged by Kafka, then its offsets are committed: a crash repeats a batch, and the dedupe stores and the
deterministic ids make the repeat harmless.
"""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from contracts.clients import ride_out
from contracts.settings import CommonSettings
from streams.stages import SendAlerts, Stages, decode_changes

log = logging.getLogger(__name__)


class BaselineLane:
    """Explicit start/stop, like aiokafka's own clients; ``run`` loops until cancelled."""

    def __init__(
        self, settings: CommonSettings, topic: str, group: str, stages: Stages, send: SendAlerts, batch: int
    ) -> None:
        self._settings = settings
        self._topic = topic
        self._group = group
        self._stages = stages
        self._send = send
        self._batch = batch
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            self._topic, bootstrap_servers=self._settings.kafka_bootstrap, group_id=self._group,
            enable_auto_commit=False, auto_offset_reset="earliest", max_poll_records=self._batch,
            session_timeout_ms=10_000,
        )  # fmt: skip
        await consumer.start()
        self._consumer = consumer

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def run(self) -> None:
        if self._consumer is None:
            raise RuntimeError("BaselineLane.run() before start()")
        consumer = self._consumer
        while True:
            fetched = await consumer.getmany(timeout_ms=1000, max_records=self._batch)
            if not fetched:
                continue
            changes = decode_changes([r.value for records in fetched.values() for r in records])
            if changes:
                await ride_out(lambda: self._stages.dedupe_enrich_match(changes, self._send), "baseline")  # noqa: B023
            try:
                await consumer.commit()
            except KafkaError as exc:
                # The group moved this batch's partitions to another worker (a rebalance): it repeats the
                # batch, and the repeat is dropped by the dedupe stores.
                log.warning("baseline lane: commit failed (%s); the batch will be repeated", exc)

    async def run_until_cancelled(self) -> None:
        """For faust's ``app.task``: started here, stopped when the worker cancels the task."""
        await self.start()
        try:
            await self.run()
        finally:
            await self.stop()
