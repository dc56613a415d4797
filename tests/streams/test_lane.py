"""The lanes on the real broker: only batches whose work finished are committed (a lane stopped in the middle
of one leaves it to the next owner), two lanes in one group between them do every change, and a lane whose
group has no offsets starts where the group it inherits from left off."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from contracts import codec
from contracts.models import Alert, EnrichedChange, ListChange
from contracts.settings import CommonSettings
from contracts.topics import Groups, Topics, ensure_topics
from streams.lane import QUIET_S, ChangeLane
from streams.metrics import StreamsMetrics
from streams.produce import Headers
from streams.quarantine import Quarantine
from tests.conftest import wait_for
from tests.factories import change, entry
from tests.servers import commit_offsets


class _Recorder:
    """Stands in for the stages: records each batch's event ids once its work is done, and those the lane
    enriched ahead; ``hang_on``: the call (1-based) that waits for ``release`` (never set: a worker killed in
    the middle of a batch)."""

    def __init__(self, hang_on: int | None = None, pause_s: float = 0.0) -> None:
        self.calls = 0
        self.done: list[str] = []
        self.enriched: list[str] = []
        self.sizes: list[int] = []  # of each batch, as the lane took it
        self.hanging = asyncio.Event()
        self.release = asyncio.Event()
        self._hang_on = hang_on
        self._pause_s = pause_s

    def enrich_batch(self, changes: Sequence[ListChange]) -> list[EnrichedChange]:
        self.enriched.extend(c.event_id for c in changes)
        return []

    async def dedupe_enrich_match(
        self, changes: Sequence[ListChange], send: object, enriched: Sequence[EnrichedChange] | None = None
    ) -> int:
        self.calls += 1
        self.sizes.append(len(changes))
        if self.calls == self._hang_on:
            self.hanging.set()
            await self.release.wait()
        await asyncio.sleep(self._pause_s)
        self.done.extend(c.event_id for c in changes)
        return len(changes)


async def _nothing(alerts: Sequence[Alert]) -> None:
    return None


async def _publish(settings: CommonSettings, topic: str, count: int, first: int = 0) -> list[str]:
    changes = [change(after=entry(key=str(i), name=f"Entity {i}"), baseline=True) for i in range(first, first + count)]
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        sent = [await producer.send(topic, codec.dumps(c), key=c.entry_key.encode()) for c in changes]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    return [c.event_id for c in changes]


async def _committed(settings: CommonSettings, topic: str, group: str) -> int:
    """The group's committed offsets on the topic, summed over its partitions."""
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = range(settings.kafka_partitions)
        offsets = [await consumer.committed(TopicPartition(topic, p)) for p in partitions]
        return sum(o or 0 for o in offsets)
    finally:
        await consumer.stop()


def _lane(
    settings: CommonSettings, stages: _Recorder, commit_every_s: float, yields_to: tuple[ChangeLane, int] | None = None
) -> ChangeLane:
    topics, groups = Topics.for_settings(settings), Groups.for_settings(settings)
    quarantine = Quarantine(_refuse, topics.quarantine, StreamsMetrics().quarantined)
    return ChangeLane(settings, "baseline", topics.baselines, groups.baselines, stages, _nothing,  # type: ignore[arg-type]
                      10, quarantine, commit_every_s=commit_every_s, yields_to=yields_to)  # fmt: skip


def _changes_lane(settings: CommonSettings, stages: _Recorder) -> ChangeLane:
    topics, groups = Topics.for_settings(settings), Groups.for_settings(settings)
    quarantine = Quarantine(_refuse, topics.quarantine, StreamsMetrics().quarantined)
    return ChangeLane(settings, "changes", topics.changes, groups.changes, stages, _nothing,  # type: ignore[arg-type]
                      10, quarantine, commit_every_s=0, inherit_from=groups.streams)  # fmt: skip


async def _refuse(topic: str, records: Sequence[tuple[bytes, bytes, Headers | None]]) -> None:
    raise AssertionError(f"nothing here fails, yet {len(records)} records were set aside on {topic}")


async def _stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def test_a_lane_stopped_mid_batch_commits_only_finished_batches(
    kafka: str, settings: CommonSettings, topics: Topics
) -> None:
    await ensure_topics(settings, topics)
    ids = await _publish(settings, topics.baselines, 60)
    first = _Recorder(hang_on=3)
    task = asyncio.create_task(_lane(settings, first, commit_every_s=0).run_until_cancelled())
    await asyncio.wait_for(first.hanging.wait(), 60)
    await _stop(task)
    assert 0 < len(first.done) <= 20  # two batches (of up to ten) finished, the third never did
    assert await _committed(settings, topics.baselines, Groups.for_settings(settings).baselines) == len(first.done)

    # The next owner starts where the finished work ends: nothing lost, nothing done twice.
    second = _Recorder()
    task = asyncio.create_task(_lane(settings, second, commit_every_s=0).run_until_cancelled())
    try:
        await wait_for(lambda: len(second.done) >= len(ids) - len(first.done), within=60)
        await asyncio.sleep(1.5)  # anything more would show now
    finally:
        await _stop(task)
    assert sorted(first.done + second.done) == sorted(ids)


async def test_two_lanes_in_one_group_do_every_change_and_commit_all(
    kafka: str, settings: CommonSettings, topics: Topics
) -> None:
    await ensure_topics(settings, topics)
    ids = await _publish(settings, topics.baselines, 400)
    a, b = _Recorder(pause_s=0.2), _Recorder(pause_s=0.2)
    # committed once a second: the partitions a handed over when b joined were committed on their revocation
    tasks = [asyncio.create_task(_lane(settings, a, commit_every_s=1.0).run_until_cancelled())]
    try:
        await wait_for(lambda: len(a.done) >= 30, within=60)
        tasks.append(asyncio.create_task(_lane(settings, b, commit_every_s=1.0).run_until_cancelled()))
        await wait_for(lambda: set(a.done) | set(b.done) >= set(ids), within=90)
        group = Groups.for_settings(settings).baselines
        for _ in range(100):  # idle lanes commit what they finished
            if await _committed(settings, topics.baselines, group) == len(ids):
                break
            await asyncio.sleep(0.2)
        assert await _committed(settings, topics.baselines, group) == len(ids)
    finally:
        for task in tasks:
            await _stop(task)
    assert b.done, "the second lane got partitions"
    # repeats only of work that was not committed when partitions moved: at most a batch per partition
    assert len(a.done) + len(b.done) - len(ids) <= 10 * settings.kafka_partitions


async def _ends(settings: CommonSettings, topic: str) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets([TopicPartition(topic, p) for p in range(settings.kafka_partitions)]))
    finally:
        await consumer.stop()


async def test_the_changes_lane_starts_where_the_faust_group_left_off(
    kafka: str, settings: CommonSettings, topics: Topics
) -> None:
    """An upgrade: the faust agent's group had read the changes topic up to some point. The lane's new group
    starts there on the partitions it committed, and at the earliest record on the others; once the lane has
    committed, its own offsets count and the old group's are no longer read."""
    await ensure_topics(settings, topics)
    groups = Groups.for_settings(settings)
    old = await _publish(settings, topics.changes, 40)
    ends = await _ends(settings, topics.changes)
    read_before = TopicPartition(topics.changes, 0)  # the faust group had read all of partition 0, none elsewhere
    assert ends[read_before] > 0
    await commit_offsets(settings.kafka_bootstrap, groups.streams, {read_before: ends[read_before]})
    new = await _publish(settings, topics.changes, 20, first=40)

    first = _Recorder()
    task = asyncio.create_task(_changes_lane(settings, first).run_until_cancelled())
    expected = len(old) + len(new) - ends[read_before]
    try:
        await wait_for(lambda: len(first.done) >= expected, within=60)
        await asyncio.sleep(1.5)  # anything more would show now
    finally:
        await _stop(task)
    assert len(first.done) == expected  # partition 0's old records not done again
    assert set(new) <= set(first.done)
    assert await _committed(settings, topics.changes, groups.changes) == len(old) + len(new)

    # The old group moves back (as a worker of the earlier version still running would commit): the lane's own
    # offsets win, and a restarted lane does nothing again.
    await commit_offsets(settings.kafka_bootstrap, groups.streams, {read_before: 0})
    more = await _publish(settings, topics.changes, 5, first=60)
    second = _Recorder()
    task = asyncio.create_task(_changes_lane(settings, second).run_until_cancelled())
    try:
        await wait_for(lambda: len(second.done) >= len(more), within=60)
        await asyncio.sleep(1.5)
    finally:
        await _stop(task)
    assert sorted(second.done) == sorted(more)


async def test_the_changes_lane_reads_nothing_of_a_partition_before_it_knows_where_to_start(
    kafka: str, settings: CommonSettings, topics: Topics, monkeypatch: pytest.MonkeyPatch
) -> None:
    """aiokafka hands partitions to the fetcher before it calls the rebalance listener, and a consumer of a
    new group starts them at the earliest record: while the lane was still asking where the old group had left
    off (slow under load), the old records were fetched and done, and then done again from there."""
    await ensure_topics(settings, topics)
    groups = Groups.for_settings(settings)
    old = await _publish(settings, topics.changes, 40)
    ends = await _ends(settings, topics.changes)
    read_before = TopicPartition(topics.changes, 0)
    await commit_offsets(settings.kafka_bootstrap, groups.streams, {read_before: ends[read_before]})
    inherited = ChangeLane._inherited
    answered: list[bool] = []

    async def slowly(lane: ChangeLane, wanted: list[TopicPartition], source: str) -> dict[TopicPartition, int]:
        found = await inherited(lane, wanted, source)
        await asyncio.sleep(3)  # a slow answer: the fetcher would have had the old records by now
        answered.append(True)
        return found

    monkeypatch.setattr(ChangeLane, "_inherited", slowly)
    recorder = _Recorder()
    task = asyncio.create_task(_changes_lane(settings, recorder).run_until_cancelled())
    try:
        await wait_for(lambda: bool(answered) and len(recorder.done) >= len(old) - ends[read_before], within=60)
        await asyncio.sleep(1.5)  # anything more would show now
    finally:
        await _stop(task)
    assert len(recorder.done) == len(old) - ends[read_before]  # partition 0's records: none done
    assert len(set(recorder.done)) == len(recorder.done)


async def test_the_baseline_lane_takes_larger_batches_only_while_the_changes_lane_is_quiet(
    kafka: str, settings: CommonSettings, topics: Topics
) -> None:
    await ensure_topics(settings, topics)
    changed = _Recorder()
    changes_lane = _changes_lane(settings, changed)
    assert _lane(settings, _Recorder(), 0).batch_now() == 10  # a lane that yields to none keeps its batch
    baseline = _Recorder()
    lane = _lane(settings, baseline, 0, yields_to=(changes_lane, 50))
    assert lane.batch_now() == 50  # the changes lane has had nothing yet

    # a baseline alone: batches past the small one's ten, up to fifty
    first = await _publish(settings, topics.baselines, 400)
    baseline_task = asyncio.create_task(lane.run_until_cancelled())
    changes_task = asyncio.create_task(changes_lane.run_until_cancelled())
    try:
        await wait_for(lambda: len(baseline.done) >= len(first), within=60)
        assert 10 < max(baseline.sizes) <= 50

        # additions flowing: the changes lane had work just now, and the baseline's batches are small again
        # while it keeps having some (published faster than it goes quiet)
        async def additions() -> None:
            producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
            await producer.start()
            try:
                for n in range(400):
                    added = change(after=entry(key=f"a{n}", name=f"Added {n}"))
                    await producer.send_and_wait(topics.changes, codec.dumps(added), key=added.entry_key.encode())
                    await asyncio.sleep(QUIET_S / 10)
            finally:
                await producer.stop()

        flowing = asyncio.create_task(additions())
        await wait_for(lambda: changed.done, within=60)
        assert lane.batch_now() == 10
        taken = len(baseline.sizes)
        second = await _publish(settings, topics.baselines, 200, first=400)
        await wait_for(lambda: len(baseline.done) >= len(first) + len(second), within=60)
        assert not flowing.done(), "the additions stopped before the second baseline was done: nothing was measured"
        # the fetch already waiting when the additions began took its size then: one larger batch at most
        assert max(baseline.sizes[taken + 1 :]) <= 10
        await _stop(flowing)
        await wait_for(lambda: lane.batch_now() == 50, within=QUIET_S * 5)  # quiet again
    finally:
        await _stop(baseline_task)
        await _stop(changes_task)
    assert sorted(baseline.done) == sorted(first + second)


async def test_what_arrives_while_a_batch_is_in_flight_is_enriched_and_goes_in_the_next_batch_whole(
    kafka: str, settings: CommonSettings, topics: Topics
) -> None:
    # Under a steady flow a change should wait for the batch in flight and then its own. A lane that fetched
    # the next batch once, as a batch started, left what arrived after that to a third batch.
    await ensure_topics(settings, topics)
    stages = _Recorder(hang_on=1)
    task = asyncio.create_task(_lane(settings, stages, commit_every_s=0).run_until_cancelled())
    try:
        [first] = await _publish(settings, topics.baselines, 1)
        await asyncio.wait_for(stages.hanging.wait(), 60)
        [second] = await _publish(settings, topics.baselines, 1, first=1)
        await wait_for(lambda: second in stages.enriched, within=30)  # fetched and enriched during the batch
        [third] = await _publish(settings, topics.baselines, 1, first=2)
        await wait_for(lambda: third in stages.enriched, within=30)
        stages.release.set()
        await wait_for(lambda: len(stages.done) == 3, within=30)
    finally:
        await _stop(task)
    assert stages.done == [first, second, third]
    assert stages.sizes == [1, 2]
