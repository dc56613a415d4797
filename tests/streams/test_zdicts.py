"""The list state's entries compressed with a dictionary trained on their own list (streams/zdicts.py), on
real OFAC entries: trained once the list holds enough of them, by one of two workers writing at once, read
back by every worker, smaller than with the preset deflate, and entries stored before it still read and
rewritten by a reindex."""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime

import pytest
from redis.asyncio import Redis

from contracts.models import EnrichedChange
from contracts.settings import CommonSettings
from streams.enrich.change import enrich
from streams.index import RedisIndex
from streams.list_state import ListStateStore, encode, training_json
from streams.match.logic import enrichment_keys
from streams.zdicts import Dictionaries, MissingDictionary
from tests.snapshots import real_files

TRAIN_AT = 100


@functools.cache
def _real(count: int) -> tuple[EnrichedChange, ...]:
    """The first ``count`` entries of a real OFAC SDN file as the baseline changes the monitor publishes."""
    from monitor.diff import diff, read_snapshot
    from monitor.snapshot import DiskSnapshot
    from monitor.sources.ofac_sdn import OfacSdn

    source = OfacSdn()
    parsed = read_snapshot(source, DiskSnapshot(real_files("ofac_sdn", "gitscrape_2024-05-03")), "s")
    changes = diff("ofac_sdn", None, None, parsed, datetime(2024, 5, 3, tzinfo=UTC), source.info)
    return tuple(enrich(c) for _, c in zip(range(count), changes, strict=False))


def store(redis: Redis, settings: CommonSettings, train_at: int = TRAIN_AT) -> ListStateStore:
    return ListStateStore(redis, settings, Dictionaries(redis, settings, train_at=train_at, recheck_s=0))


async def apply(lists: ListStateStore, changes: tuple[EnrichedChange, ...], batch: int = 50) -> None:
    for start in range(0, len(changes), batch):
        await lists.apply_many(changes[start : start + batch])


async def stored(redis: Redis, settings: CommonSettings) -> dict[str, bytes]:
    return {k.decode(): v for k, v in (await redis.hgetall(settings.redis_key("list", "ofac_sdn"))).items()}


async def assert_reads_back(lists: ListStateStore, changes: tuple[EnrichedChange, ...]) -> None:
    for c in changes:
        listed = await lists.get("ofac_sdn", c.change.entry_key)
        assert listed is not None
        assert listed.entry == c.change.after
        assert listed.enrichment == c.enrichment
        assert listed.event_id == c.change.event_id


async def test_a_list_is_trained_once_it_holds_enough_entries_and_later_ones_are_smaller(
    redis: Redis, settings: CommonSettings
) -> None:
    changes = _real(400)
    lists = store(redis, settings)
    await apply(lists, changes)
    dictionaries = await redis.hgetall(settings.redis_key("zdict", "ofac_sdn"))
    assert list(dictionaries) == [b"1"]
    values = await stored(redis, settings)
    assert len(values) == 400
    # written before the list held TRAIN_AT entries: the preset deflate; every one after: the dictionary
    first = {c.change.entry_key for c in changes[:TRAIN_AT]}
    later = changes[TRAIN_AT + 50 :]
    assert all(values[k][:1] == b"\x01" for k in first)
    assert all(values[c.change.entry_key][:1] == b"\x02" for c in later)
    # entries the dictionary was not trained on (stored after it): less than 0.7 of the preset deflate's size
    with_dictionary = sum(len(values[c.change.entry_key]) for c in later)
    deflated = 0
    for c in later:
        listed = await lists.get("ofac_sdn", c.change.entry_key)
        assert listed is not None
        deflated += len(encode(listed))
    assert with_dictionary < 0.7 * deflated, (with_dictionary, deflated)
    # a fresh worker (nothing loaded) reads them all, and finds them by the index
    await assert_reads_back(store(redis, settings), changes)
    found = await store(redis, settings).candidates(enrichment_keys(changes[-1].enrichment))
    assert changes[-1].change.entry_key in {x.entry.key for x in found}


async def test_a_list_smaller_than_the_threshold_keeps_the_preset_deflate(
    redis: Redis, settings: CommonSettings
) -> None:
    changes = _real(TRAIN_AT - 1)
    await apply(store(redis, settings), changes)
    assert not await redis.exists(settings.redis_key("zdict", "ofac_sdn"))
    assert {v[:1] for v in (await stored(redis, settings)).values()} == {b"\x01"}


async def test_two_workers_training_at_once_keep_one_dictionary_and_read_each_others_entries(
    redis: Redis, settings: CommonSettings
) -> None:
    changes = _real(600)
    await apply(store(redis, settings, train_at=10**9), changes[:200])  # stored before anyone trains
    first, second = (Dictionaries(redis, settings, train_at=TRAIN_AT, recheck_s=0) for _ in range(2))
    # both look before either trains, so both train, on samples of their own (the list grows in between):
    # the first written is kept, and the second loads it
    for dictionaries in (first, second):
        await dictionaries.before_writing({"ofac_sdn": 1})
    hash_of = functools.partial(settings.redis_key, "list")
    assert await first.train_due(["ofac_sdn"], hash_of, training_json) == ["ofac_sdn"]
    await apply(store(redis, settings, train_at=10**9), changes[200:300])
    assert await second.train_due(["ofac_sdn"], hash_of, training_json) == []
    assert list(await redis.hgetall(settings.redis_key("zdict", "ofac_sdn"))) == [b"1"]
    one, two = ListStateStore(redis, settings, first), ListStateStore(redis, settings, second)
    await asyncio.gather(apply(one, changes[300::2]), apply(two, changes[301::2]))
    values = await stored(redis, settings)
    assert len(values) == 600
    assert sum(v[:1] == b"\x02" for v in values.values()) == 400
    await assert_reads_back(one, changes)
    await assert_reads_back(two, changes)
    await assert_reads_back(store(redis, settings), changes)


async def test_entries_stored_before_the_dictionary_are_read_and_a_reindex_rewrites_them_with_it(
    redis: Redis, settings: CommonSettings
) -> None:
    changes = _real(300)
    # stored by a version without dictionaries (a threshold never reached)
    await apply(store(redis, settings, train_at=10**9), changes)
    assert {v[:1] for v in (await stored(redis, settings)).values()} == {b"\x01"}
    lists = store(redis, settings)
    await assert_reads_back(lists, changes)
    before = sum(map(len, (await stored(redis, settings)).values()))
    assert await lists.reindex("ofac_sdn") == (300, 300)
    values = await stored(redis, settings)
    assert {v[:1] for v in values.values()} == {b"\x02"}
    assert sum(map(len, values.values())) < 0.7 * before
    await assert_reads_back(store(redis, settings), changes)
    # once rewritten, a second reindex changes nothing; the index found every entry's keys from what was stored
    assert await lists.reindex("ofac_sdn") == (300, 0)
    assert await RedisIndex(redis, settings, "lidx").orphans() == 0


async def test_an_entry_whose_dictionary_is_gone_is_a_clear_error(redis: Redis, settings: CommonSettings) -> None:
    changes = _real(TRAIN_AT + 50)
    await apply(store(redis, settings), changes)
    await redis.delete(settings.redis_key("zdict", "ofac_sdn"))
    with pytest.raises(MissingDictionary, match="'ofac_sdn' was written with its dictionary 1"):
        await store(redis, settings).get("ofac_sdn", changes[-1].change.entry_key)
