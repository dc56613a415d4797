"""A lane: one topic of changes consumed by an aiokafka consumer in a consumer group of its own, in batches.
Each stream worker runs two: the changes lane (``{ns}.changes.v1``) and the baseline lane (a list's first
snapshot, ``{ns}.changes.baseline.v1``), beside the faust agents.

Not faust agents. faust hands every topic's records to its agents from one fetch loop, and an agent whose
buffer is full holds up the records fetched with its own. Measured with a 30k baseline as a second agent, an
addition waited 0.3 s most of the time but about 4 s every 12 s; on the changes topic itself, minutes. And
faust's path for each record (its fetch loop, the stream's iterator, the take buffer, an ack per event) was
about a sixth of the worker's main thread for an alerting change: the changes agent drained 654–714 alerting
changes per second where this lane drains 762–830, alternating (docs/benchmarks.md, twentieth session). A
consumer of its own holds up nothing but itself; its batches share the event loop, so another change waits
for one batch at most.

Each batch is deduplicated, enriched and matched in one step (``Stages.dedupe_enrich_match``), its alerts are
acknowledged by Kafka, and only then are its offsets counted as done. While a batch is in flight the lane
keeps fetching, and enriches (pure work) what arrives while that batch waits on Redis and Kafka, so the two
cores work at once; the next batch, all of it, starts once the batch before is done. (Until 2026-12-02 the
next batch was fetched once, as a batch started: under a steady flow a change waited for the batch in
flight, then for the batch fetched ahead of it, then for its own.)

Done offsets are committed at most every ``commit_every_s``, when the lane goes idle, and when partitions are
revoked: a commit per batch of 100 capped the lane at about 5,700 changes per second with no work at all
(2026-12-01). A crash repeats what was done since the last commit, and the dedupe store and the
deterministic ids make the repeat harmless.

``inherit_from``: a consumer group that read the topic before this lane did (the faust agent's, for the
changes topic). A partition this lane's group has no offset for starts where that group's committed offset
says, not at the earliest record: an upgraded worker neither skips nor repeats the backlog.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from contracts.clients import ride_out
from contracts.models import EnrichedChange, ListChange
from contracts.settings import CommonSettings
from streams.quarantine import Quarantine, change_record
from streams.stages import SendAlerts, Stages

log = logging.getLogger(__name__)
# Changes enriched between two turns of the event loop: the batch in flight (and the agents) wait at most this.
_ENRICH_STEP = 2
# How long the lane a lane yields to must have had nothing before this one takes its larger batches.
QUIET_S = 1.0


class ChangeLane:
    """Explicit start/stop, like aiokafka's own clients; ``run`` loops until cancelled. ``lane`` names it in
    logs and in the quarantine's records and metrics ("changes", "baseline").

    ``yields_to``: another lane of the worker, and a larger batch this one takes while that one has had nothing
    for ``QUIET_S`` (the baseline lane, yielding to the changes lane). A batch holds the event loop the lanes
    share, so the baseline's batches are small while additions flow; alone, a baseline streams faster in larger
    ones, and an addition arriving then waits for one of those at most before they shrink again."""

    def __init__(
        self, settings: CommonSettings, lane: str, topic: str, group: str, stages: Stages, send: SendAlerts,
        batch: int, quarantine: Quarantine, commit_every_s: float = 1.0, inherit_from: str | None = None,
        yields_to: tuple[ChangeLane, int] | None = None,
    ) -> None:  # fmt: skip
        self._settings = settings
        self._lane = lane
        self._inherit_from = inherit_from
        self._quarantine = quarantine
        self._topic = topic
        self._group = group
        self._stages = stages
        self._send = send
        self._batch = batch
        self._commit_every_s = commit_every_s
        self._consumer: AIOKafkaConsumer | None = None
        # The next offset of each partition whose batch is done (alerts acknowledged), not yet committed.
        self._done: dict[TopicPartition, int] = {}
        self._committed_at = 0.0
        self._yields_to = yields_to
        # when this lane last fetched anything (monotonic): a lane yielding to it reads it
        self.worked_at = float("-inf")

    @property
    def name(self) -> str:
        return self._lane

    async def start(self) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.kafka_bootstrap, group_id=self._group, enable_auto_commit=False,
            auto_offset_reset="earliest", max_poll_records=self._largest_batch(), session_timeout_ms=10_000,
            heartbeat_interval_ms=1_000,  # a worker joining waits for the others' next heartbeat to rebalance
        )  # fmt: skip
        consumer.subscribe([self._topic], listener=_Rebalance(self, consumer))
        await consumer.start()
        self._consumer = consumer
        self._committed_at = time.monotonic()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self.commit_done()
            await self._consumer.stop()
            self._consumer = None

    async def run(self) -> None:
        if self._consumer is None:
            raise RuntimeError(f"{self._lane} lane: run() before start()")
        consumer = self._consumer
        inflight: _Inflight | None = None
        waiting = _Waiting()  # fetched and enriched, to go in the next batch
        fetch: asyncio.Task[dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]]] | None = None
        try:
            while True:
                # One fetch outstanding at a time, for as many records as the next batch has room for (none
                # while it is full: the batch in flight is awaited alone).
                room = self.batch_now() - len(waiting.changes)
                if fetch is None and room > 0:
                    fetch = asyncio.create_task(consumer.getmany(timeout_ms=1000, max_records=room))
                # (never neither: a full batch waiting with none in flight was started at the end of the last turn)
                await asyncio.wait(
                    [t for t in (fetch, inflight.task if inflight else None) if t is not None],
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if fetch is not None and fetch.done():
                    fetched, fetch = fetch.result(), None
                    if fetched:
                        await self._take(fetched, waiting)
                    elif inflight is None and not waiting.changes:
                        await self.commit_done()  # idle: leave nothing done uncommitted
                if inflight is not None and inflight.task.done():
                    await self._finish(inflight)
                    inflight = None
                # A batch starts as soon as the one before is done, with everything that arrived meanwhile: a
                # change waits for the batch in flight and its own, not for a batch fetched ahead as well.
                if inflight is None and waiting.offsets:
                    inflight = _Inflight(
                        asyncio.create_task(self._match(waiting.changes, waiting.enriched)), waiting.offsets
                    )
                    waiting = _Waiting()
        finally:
            for task in (fetch, inflight.task if inflight else None):
                if task is not None and not task.done():
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def _take(self, fetched: dict[TopicPartition, list[ConsumerRecord[bytes, bytes]]], waiting: _Waiting) -> None:
        """Decode and enrich fetched records into ``waiting`` (while the batch in flight waits on Redis and
        Kafka: the two cores work at once); its dedupe and match start only once that batch is done, so the
        order of the work is kept."""
        self.worked_at = time.monotonic()
        got = [r for records in fetched.values() for r in records]
        # a record that is no change is set aside as it was, and counted done with its batch
        changes = await self._quarantine.changes_of(
            self._lane, self._topic, [r.value for r in got], [r.key for r in got]
        )
        waiting.enriched.extend(await self._enrich(changes))
        waiting.changes.extend(changes)
        waiting.offsets.update((tp, records[-1].offset + 1) for tp, records in fetched.items())

    def batch_now(self) -> int:
        """How many records the next batch takes: the larger batch only while the lane yielded to is quiet."""
        if self._yields_to is None:
            return self._batch
        other, larger = self._yields_to
        return larger if time.monotonic() - other.worked_at >= QUIET_S else self._batch

    def _largest_batch(self) -> int:
        return max(self._batch, self._yields_to[1]) if self._yields_to is not None else self._batch

    async def _enrich(self, changes: Sequence[ListChange]) -> list[EnrichedChange]:
        """What enriches without an error; the rest is enriched again in ``_match``, where a failure is set
        aside (quarantined) rather than stopping the lane."""
        out: list[EnrichedChange] = []
        for start in range(0, len(changes), _ENRICH_STEP):
            step = changes[start : start + _ENRICH_STEP]
            with contextlib.suppress(Exception):  # left to _match, which sets it aside and says why
                out.extend(self._stages.enrich_batch(step))
            await asyncio.sleep(0)  # the batch in flight takes its next round trip
        return out

    async def _match(self, changes: Sequence[ListChange], enriched: Sequence[EnrichedChange]) -> None:
        async def work(items: Sequence[ListChange]) -> None:
            await self._stages.dedupe_enrich_match(items, self._send, enriched)

        if changes:
            await self._quarantine.guard(self._lane, self._topic, changes, work, change_record)

    async def _finish(self, inflight: _Inflight) -> None:
        await inflight.task
        self._done.update(inflight.offsets)
        if time.monotonic() - self._committed_at >= self._commit_every_s:
            await self.commit_done()

    async def commit_done(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        """Commit the done offsets (of ``partitions`` only, if given) of the partitions still assigned; a
        failed commit (the group moved on) leaves those batches to be repeated, and dropped as duplicates."""
        consumer = self._consumer
        if consumer is None or not self._done:
            return
        wanted = self._done.keys() if partitions is None else set(partitions) & self._done.keys()
        assigned = consumer.assignment()
        offsets = {tp: self._done.pop(tp) for tp in list(wanted)}
        offsets = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        self._committed_at = time.monotonic()
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:
            log.warning("%s lane: commit failed (%s); its batches will be repeated", self._lane, exc)

    async def inherit(self, consumer: AIOKafkaConsumer, assigned: Iterable[TopicPartition]) -> None:
        """Partitions of ``assigned`` this lane's group has no offset for start at ``inherit_from``'s (read
        through outages: starting at the earliest record instead would repeat the topic's whole backlog)."""
        wanted = list(assigned)
        if self._inherit_from is None or not wanted:
            return
        source = self._inherit_from
        before = await ride_out(lambda: self._inherited(wanted, source), f"{self._lane} lane: offsets to inherit")
        for tp, offset in sorted(before.items()):
            consumer.seek(tp, offset)
            log.info("%s lane: partition %d starts at offset %d, where group %s left it",
                     self._lane, tp.partition, offset, self._inherit_from)  # fmt: skip

    async def _inherited(self, wanted: list[TopicPartition], source: str) -> dict[TopicPartition, int]:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._settings.kafka_bootstrap)
        try:
            await admin.start()
            own = await admin.list_consumer_group_offsets(self._group, partitions=wanted)
            fresh = [tp for tp in wanted if tp not in own or own[tp].offset < 0]
            if not fresh:
                return {}
            before = await admin.list_consumer_group_offsets(source, partitions=fresh)
        finally:
            await admin.close()
        return {tp: meta.offset for tp, meta in before.items() if meta.offset >= 0}

    async def run_until_cancelled(self) -> None:
        """For faust's ``app.task``: started here, stopped when the worker cancels the task."""
        await self.start()
        try:
            await self.run()
        finally:
            await self.stop()


@dataclass(slots=True)
class _Waiting:
    """Records fetched while a batch was in flight: their changes, those enriched, and the next offset of each
    partition once they are done."""

    changes: list[ListChange] = field(default_factory=list)
    enriched: list[EnrichedChange] = field(default_factory=list)
    offsets: dict[TopicPartition, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Inflight:
    """A batch being deduplicated and matched, and the offsets that are done once it is."""

    task: asyncio.Task[None]
    offsets: dict[TopicPartition, int]


class _Rebalance(ConsumerRebalanceListener):  # type: ignore[misc]
    """What this worker finished of the partitions it hands over is committed before the next owner starts;
    a partition new to the lane's group starts where the group it inherits from left it."""

    def __init__(self, lane: ChangeLane, consumer: AIOKafkaConsumer) -> None:
        self._lane = lane
        self._consumer = consumer  # the lane's own is set only once start() returns, maybe after the first assignment

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        await self._lane.commit_done(revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        # aiokafka hands the partitions to its fetcher before it calls this, starting a new group's at the
        # earliest record: paused until the lane knows where each starts, none of them is read from there
        self._consumer.pause(*assigned)
        try:
            await self._lane.inherit(self._consumer, assigned)
        finally:
            self._consumer.resume(*assigned)
        log.info("%s lane: assigned partitions %s", self._lane.name, sorted(tp.partition for tp in assigned))
