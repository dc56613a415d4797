"""Quarantine.guard: what fails for a reason other than an outage is set aside alone, with its origin and
error; outages are waited out, never set aside; the rest of the batch is done, in order."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from contracts import codec
from contracts.models import Alert, WatchEvent
from contracts.settings import CommonSettings
from contracts.topics import QUARANTINE_ERROR, QUARANTINE_LANE, QUARANTINE_ORIGIN
from streams.metrics import StreamsMetrics
from streams.produce import Headers
from streams.quarantine import LANES, Quarantine, watch_record
from streams.watch_events import watch_event
from tests.streams.stack import stages


class _Topic:
    """Records sent, as a Kafka topic would hold them."""

    def __init__(self) -> None:
        self.records: list[tuple[str, bytes, bytes, dict[str, bytes]]] = []

    async def send(self, topic: str, records: Sequence[tuple[bytes, bytes, Headers | None]]) -> None:
        self.records.extend((topic, key, value, dict(headers or ())) for key, value, headers in records)


def _record(item: str) -> tuple[bytes, bytes]:
    return item.encode(), f'{{"event_id": "{item}"}}'.encode()


def _quarantine() -> tuple[Quarantine, _Topic, StreamsMetrics]:
    topic, metrics = _Topic(), StreamsMetrics()
    return Quarantine(topic.send, "ns.quarantine.v1", metrics.quarantined), topic, metrics


async def test_a_failing_event_is_set_aside_alone_and_the_rest_of_its_batch_done_in_order() -> None:
    quarantine, topic, metrics = _quarantine()
    calls: list[list[str]] = []
    done: list[str] = []

    async def work(items: Sequence[str]) -> None:
        calls.append(list(items))
        if "bad" in items:
            raise ValueError("cannot read bad")
        done.extend(items)

    await quarantine.guard("changes", "ns.changes.v1", ["a", "bad", "c"], work, _record)
    assert calls == [["a", "bad", "c"], ["a"], ["bad"], ["c"]]
    assert done == ["a", "c"]
    assert [(t, k) for t, k, _, _ in topic.records] == [("ns.quarantine.v1", b"bad")]
    _, _, value, headers = topic.records[0]
    assert value == b'{"event_id": "bad"}'
    assert headers[QUARANTINE_ORIGIN] == b"ns.changes.v1"
    assert headers[QUARANTINE_LANE] == b"changes"
    assert headers[QUARANTINE_ERROR] == b"ValueError: cannot read bad"
    assert metrics.quarantined.labels("changes")._value.get() == 1


def test_every_lanes_count_is_exported_from_the_start() -> None:
    _, _, metrics = _quarantine()
    exported = {s.labels["lane"]: s.value for m in metrics.registry.collect() for s in m.samples
                if s.name == "listwatch_quarantined_total"}  # fmt: skip
    assert exported == dict.fromkeys(LANES, 0.0)


async def test_a_batch_that_succeeds_sets_nothing_aside() -> None:
    quarantine, topic, metrics = _quarantine()
    done: list[str] = []

    async def work(items: Sequence[str]) -> None:
        done.extend(items)

    await quarantine.guard("baseline", "ns.changes.baseline.v1", ["a", "b"], work, _record)
    assert done == ["a", "b"]
    assert topic.records == []
    assert metrics.quarantined.labels("baseline")._value.get() == 0


async def test_an_outage_is_waited_out_not_set_aside() -> None:
    quarantine, topic, _ = _quarantine()
    failures = iter([True, True, False])
    done: list[str] = []

    async def work(items: Sequence[str]) -> None:
        if next(failures):
            raise RedisConnectionError("Redis is restarting")
        done.extend(items)

    await quarantine.guard("changes", "ns.changes.v1", ["a", "b"], work, _record)
    assert done == ["a", "b"]
    assert topic.records == []


async def test_a_failure_to_set_aside_stalls_the_lane_until_it_succeeds() -> None:
    topic, metrics = _Topic(), StreamsMetrics()
    refusals = iter([RuntimeError("the topic refused the record"), RuntimeError("again"), None])

    async def send(name: str, records: Sequence[tuple[bytes, bytes, Headers | None]]) -> None:
        if (error := next(refusals)) is not None:
            raise error
        await topic.send(name, records)

    async def work(items: Sequence[str]) -> None:
        raise ValueError("cannot read it")

    await asyncio.wait_for(Quarantine(send, "ns.q", metrics.quarantined).guard("changes", "ns.c", ["a"], work, _record), 30)
    assert [k for _, k, _, _ in topic.records] == [b"a"]
    assert metrics.quarantined.labels("changes")._value.get() == 1


async def test_a_cancelled_worker_is_not_mistaken_for_a_failure() -> None:
    quarantine, topic, _ = _quarantine()

    async def work(items: Sequence[str]) -> None:
        raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await quarantine.guard("changes", "ns.changes.v1", ["a"], work, _record)
    assert topic.records == []


async def test_a_wrongtype_reply_from_the_real_redis_sets_a_watch_event_aside(
    redis: Redis, settings: CommonSettings
) -> None:
    """The screen lane's work on the real Redis, with a subscriber's watch key of the wrong type (written by some
    other tool): retrying cannot mend it, so the event is set aside at once, with the reply in its error."""
    quarantine, topic, metrics = _quarantine()
    st = stages(redis, settings)
    await redis.set(settings.redis_key("watch", "s"), "not a hash")
    event = watch_event("s", "w1")

    async def screen(items: Sequence[WatchEvent]) -> None:
        for item in items:
            await st.screen(item, _no_alert)

    await asyncio.wait_for(quarantine.guard("screen", "ns.watches.v1", [event], screen, watch_record), 30)
    [(_, key, value, headers)] = topic.records
    assert key == b"s"
    assert codec.loads(WatchEvent, value).watch_id == "w1"
    assert headers[QUARANTINE_ERROR].startswith(b"redis.exceptions.ResponseError: WRONGTYPE")
    assert metrics.quarantined.labels("screen")._value.get() == 1


async def _no_alert(alert: Alert) -> None:
    raise AssertionError(f"no alert expected, got {alert}")
