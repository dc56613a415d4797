"""The quarantine: an event a stream worker cannot process for a reason other than an outage (a bug,
unforeseen data, corrupt state) is set aside, so that the rest of its batch and everything after it go on.

Without it such an event stopped the baseline lane (a restarted worker met the same batch again), and in a
faust agent the batch was acknowledged unprocessed (``Stream.take`` acks in a ``finally``): lost. Now a
batch that fails is tried again event by event (outages still waited out by ``ride_out``), and each event
that fails alone is written to the quarantine topic as it was, with its origin, lane and error in headers,
acknowledged by Kafka before the batch counts as done. ``listwatch quarantine replay`` puts the events back
on their topics once the cause is mended; the dedupe store drops what had been done already.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from contracts import codec
from contracts.clients import Backoff, producer, ride_out
from contracts.models import EnrichedChange, ListChange, WatchEvent
from contracts.settings import CommonSettings
from contracts.topics import (
    QUARANTINE_AT,
    QUARANTINE_ERROR,
    QUARANTINE_LANE,
    QUARANTINE_ORIGIN,
    Groups,
    Topics,
    alert_key,
    change_key,
)
from streams.produce import SendRecords
from streams.stages import decode_changes

log = logging.getLogger(__name__)
_T = TypeVar("_T")
# The lanes that set events aside (the agents' and the baseline lane's names in logs, headers and metrics).
LANES = ("changes", "baseline", "match", "screen")
# An error's text is kept to this length in its header (a traceback is in the worker's log).
_ERROR_MAX = 2000


class Counted(Protocol):
    def labels(self, *values: str) -> Any: ...


class Quarantine:
    """``guard`` runs a batch's work and sets aside what fails for good; one per worker."""

    def __init__(self, send: SendRecords, topic: str, counter: Counted) -> None:
        self._send = send
        self._topic = topic
        self._counter = counter
        for lane in LANES:  # at 0 from the start: Prometheus's increase() misses a series' first sample
            counter.labels(lane)

    async def guard(
        self, lane: str, origin: str, items: Sequence[_T], work: Callable[[Sequence[_T]], Awaitable[object]],
        record: Callable[[_T], tuple[bytes, bytes]],
    ) -> None:  # fmt: skip
        """``work(items)``; if it fails for a reason other than an outage, ``work([item])`` for each item in
        order, and each that still fails is set aside (``record``: its key and value as on ``origin``)."""
        try:
            await ride_out(lambda: work(items), lane)
        except Exception as exc:  # noqa: BLE001 - whatever it is, the batch must not be lost
            failed = [(items[0], exc)] if len(items) == 1 else await self._one_by_one(lane, items, work, exc)
        else:
            return
        records = [(*record(item), error) for item, error in failed]
        for (key, _, error) in records:
            log.error("%s: an event (key %r) set aside on %s: %s", lane, key, self._topic, _describe(error),
                      exc_info=error)  # fmt: skip
        await self._set_aside(lane, origin, records)
        self._counter.labels(lane).inc(len(failed))

    async def changes_of(
        self, lane: str, origin: str, values: Sequence[bytes | None], keys: Sequence[bytes | None] | None = None
    ) -> list[ListChange]:
        """The records' changes (``decode_changes``). A record that is no ListChange is set aside as it was (with
        its key, where the lane has the keys), rather than dropped."""
        bad: list[tuple[int, Exception]] = []
        changes = decode_changes(values, bad)
        if bad:
            records = [((keys[i] if keys else None) or b"", values[i] or b"", error) for i, error in bad]
            await self._set_aside(lane, origin, records)
            self._counter.labels(lane).inc(len(records))
        return changes

    @staticmethod
    async def _one_by_one(
        lane: str, items: Sequence[_T], work: Callable[[Sequence[_T]], Awaitable[object]], exc: Exception
    ) -> list[tuple[_T, Exception]]:
        """Each item alone, in order: those that still fail, with their errors."""
        log.warning("%s: a batch of %d failed (%s); trying its events one by one", lane, len(items), _describe(exc))
        failed = []
        for item in items:
            try:
                await ride_out(lambda: work([item]), lane)  # noqa: B023 - awaited here
            except Exception as one:  # noqa: BLE001
                failed.append((item, one))
        return failed

    async def _set_aside(self, lane: str, origin: str, failed: Sequence[tuple[bytes, bytes, Exception]]) -> None:
        """Sent, and acknowledged, whatever it takes: an outage is waited out, and so is any other failure (a
        record over Kafka's size limit, the topic refused), logged as critical. The lane stalls rather than
        go on: a faust agent that gave up here would have its batch acknowledged unprocessed."""
        backoff = Backoff()
        while True:
            try:
                await ride_out(lambda: self._send_aside(lane, origin, failed), "quarantine")
            except Exception as exc:  # noqa: BLE001 - nothing may be skipped
                if not backoff.failures:
                    log.critical("%s: cannot set %d events aside on %s (%s); the lane waits, retrying",
                                 lane, len(failed), self._topic, _describe(exc))  # fmt: skip
                await backoff.wait()
            else:
                if backoff.failures:
                    log.info("%s: set aside after %d retries", lane, backoff.failures)
                return

    async def _send_aside(self, lane: str, origin: str, failed: Sequence[tuple[bytes, bytes, Exception]]) -> None:
        at = datetime.now(UTC).isoformat().encode()
        records = []
        for key, value, error in failed:
            headers = [(QUARANTINE_ORIGIN, origin.encode()), (QUARANTINE_LANE, lane.encode()),
                       (QUARANTINE_ERROR, _describe(error).encode()), (QUARANTINE_AT, at)]  # fmt: skip
            records.append((key, value, headers))
        await self._send(self._topic, records)


def _describe(error: BaseException) -> str:
    kind = type(error)
    name = kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"
    return f"{name}: {error}"[:_ERROR_MAX]


# Each kind of event as it was on its topic: its key and value (written by contracts/codec.py, which every
# reader of the topic reads).
def change_record(change: ListChange) -> tuple[bytes, bytes]:
    return change_key(change.source, change.entry_key), codec.dumps(change)


def enriched_record(enriched: EnrichedChange) -> tuple[bytes, bytes]:
    """An enriched change is set aside as its change: put back on the changes topic, it is enriched again."""
    return change_record(enriched.change)


def watch_record(event: WatchEvent) -> tuple[bytes, bytes]:
    return alert_key(event.subscriber_id), codec.dumps(event)


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A record of the quarantine topic, for `listwatch quarantine show` and replay."""

    partition: int
    offset: int
    origin: str
    lane: str
    error: str
    at: str
    key: bytes
    value: bytes

    @property
    def event_id(self) -> str | None:
        try:
            data = orjson.loads(self.value)
        except orjson.JSONDecodeError:
            return None
        found = data.get("event_id") if isinstance(data, dict) else None
        return found if isinstance(found, str) else None

    def summary(self) -> dict[str, Any]:
        return {"origin": self.origin, "lane": self.lane, "error": self.error, "quarantined_at": self.at,
                "event_id": self.event_id, "partition": self.partition, "offset": self.offset}  # fmt: skip


async def read_pending(settings: CommonSettings, topics: Topics) -> list[Quarantined]:
    """The records not replayed yet (after the replay group's committed offsets), oldest first per partition."""
    consumer = _consumer(settings)
    await consumer.start()
    try:
        pending, _ = await _pending(settings, consumer, topics.quarantine)
        return pending
    finally:
        await consumer.stop()


async def replay(settings: CommonSettings, topics: Topics) -> tuple[int, list[Quarantined]]:
    """Put every pending record back on the topic it came from, as it was; only once Kafka acknowledged them
    all are they marked replayed (a crash before replays them again: the dedupe store drops the repeats).
    Returns how many were put back, and the records passed over: not ours (no origin among our topics)."""
    consumer = _consumer(settings)
    kafka = producer(settings)
    await consumer.start()
    try:
        await kafka.start()
        pending, ends = await _pending(settings, consumer, topics.quarantine)
        ours = set(topics.all()) - {topics.quarantine}
        back = [q for q in pending if q.origin in ours]
        sent = [await kafka.send(q.origin, value=q.value, key=q.key) for q in back]
        for future in sent:
            await future
        if ends:
            await consumer.commit(ends)
        return len(back), [q for q in pending if q.origin not in ours]
    finally:
        await kafka.stop()
        await consumer.stop()


def _consumer(settings: CommonSettings) -> AIOKafkaConsumer:
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, group_id=Groups.for_settings(settings).quarantine_replay,
        enable_auto_commit=False, auto_offset_reset="earliest",
    )  # fmt: skip


async def _partitions(settings: CommonSettings, topic: str) -> list[int]:
    """The topic's partitions, from the broker (a consumer knows only those of the topics it subscribed to)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        await admin.start()
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for t in described if t.get("error_code", 0) == 0 for p in t.get("partitions", ()))


async def _pending(
    settings: CommonSettings, consumer: AIOKafkaConsumer, topic: str
) -> tuple[list[Quarantined], dict[TopicPartition, int]]:
    """What lies between the group's committed offsets and the log's end as this call began, and those ends."""
    partitions = await _partitions(settings, topic)
    if not partitions:
        return [], {}
    tps = [TopicPartition(topic, p) for p in partitions]
    consumer.assign(tps)
    ends: dict[TopicPartition, int] = await consumer.end_offsets(tps)
    out: list[Quarantined] = []
    for tp in tps:
        committed = await consumer.committed(tp)
        if committed is None:
            await consumer.seek_to_beginning(tp)
        else:
            consumer.seek(tp, committed)
    while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
        fetched = await consumer.getmany(timeout_ms=1000)
        for tp, records in fetched.items():
            for r in records:
                if r.offset >= ends[tp]:
                    continue
                headers = {name: value.decode(errors="replace") for name, value in r.headers}
                out.append(Quarantined(
                    partition=tp.partition, offset=r.offset, origin=headers.get(QUARANTINE_ORIGIN, ""),
                    lane=headers.get(QUARANTINE_LANE, ""), error=headers.get(QUARANTINE_ERROR, ""),
                    at=headers.get(QUARANTINE_AT, ""), key=r.key or b"", value=r.value or b"",
                ))  # fmt: skip
    return out, {tp: end for tp, end in ends.items() if end > 0}
