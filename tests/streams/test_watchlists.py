from __future__ import annotations

import asyncio

import orjson
import pytest
from redis.asyncio import Redis

from contracts.cli import EXIT_BUSY, main
from contracts.settings import CommonSettings
from streams.enrich.names import name_form
from streams.index import RedisIndex
from streams.match.keys import name_keys
from streams.watchlists import WatchEntry, WatchlistStore, member, parse_watchlist_csv, watch_keys
from tests.streams.stack import stages


def keys(name: str) -> set[str]:
    return name_keys(name_form(name))


async def test_candidates_by_name_and_identifier(redis: Redis, settings: CommonSettings) -> None:
    store = WatchlistStore(redis, settings)
    acme = WatchEntry(subscriber_id="s1", id="w1", name="ACME Trading Co.", alt_names=("艾克米贸易有限公司",))
    huawei = WatchEntry(subscriber_id="s2", id="w9", name="Huawei", uscc="914403001922038216")
    await store.put(acme)
    await store.put(huawei)

    assert await store.candidates(keys("ACME TRADING COMPANY LIMITED")) == [acme]
    assert await store.candidates(keys("艾克米貿易有限公司")) == [acme]  # traditional form
    assert await store.candidates({"id:uscc:914403001922038216"}) == [huawei]
    assert await store.candidates(keys("Nobody Else Ltd")) == []


async def test_a_change_finds_no_watch_sharing_little_of_its_name_but_one_sharing_an_identifier(
    redis: Redis, settings: CommonSettings
) -> None:
    store = WatchlistStore(redis, settings)
    weak = WatchEntry(subscriber_id="s1", id="w1", name="Zentrixon Harbour")
    by_id = WatchEntry(subscriber_id="s2", id="w2", name="Quite Another Name", uscc="914403001922038216")
    near = WatchEntry(subscriber_id="s3", id="w3", name="Karvell Dunmore Logistics")
    await store.put_many([weak, by_id, near])
    listed = keys("ZENTRIKOVA KARVELL DUNMORE") | {"id:uscc:914403001922038216"}
    # "Zentrixon" shares one of the listed name's keys ("x:zent"), under the floor; the identifier's one
    # key is as little, but an identifier is always looked at.
    assert [w.id for w in (await store.candidates_many([[listed]]))[0]] == ["w3", "w2"]
    assert [w.id for w in await store.candidates(keys("ZENTRIXON"))] == ["w1"]


async def test_watches_tied_past_the_cut_on_the_one_key_of_a_name_anyone_holds_are_not_all_taken(
    redis: Redis, settings: CommonSettings
) -> None:
    # Watched names sharing only the first four letters of a listed name's word tie, each covering all of
    # what was found; past the cut they were all taken and scored (4,985 of a million made-up watches for
    # "OSTROWSKY, Alexander": 0.6 s for one change). Subscribers watching one name are all taken still.
    store = WatchlistStore(redis, settings)
    names = [f"Ostr{chr(97 + i)}vanik Harbour" for i in range(26)]
    await store.put_many(WatchEntry(subscriber_id="s1", id=f"w{i}", name=name) for i, name in enumerate(names))
    await store.put_many(WatchEntry(subscriber_id=f"t{i}", id="w", name="Ostrowsky Holding") for i in range(8))
    assert len((await store.candidates_many([[keys("OSTROWSKY, Alexander")]], limit=5))[0]) == 8
    assert len((await store.candidates_many([[keys("BELOV, Ostromir")]], limit=5))[0]) == 5


async def test_stored_form_is_slim_and_the_full_form_written_before_is_read(
    redis: Redis, settings: CommonSettings
) -> None:
    store = WatchlistStore(redis, settings)
    full = WatchEntry(subscriber_id="s1", id="w1", name="ACME", alt_names=("艾克米",), country="CN", tags=("t",))
    plain = WatchEntry(subscriber_id="s1", id="w2", name="Bolt Trading")
    await store.put_many([full, plain])
    stored = await redis.hget(settings.redis_key("watch", "s1"), "w2")
    assert stored == b'{"name":"Bolt Trading"}'
    assert await store.get("s1", "w1") == full
    assert await store.entries("s1") == [full, plain]
    assert await store.page("s1", None, 10) == ([full, plain], None)
    assert await store.candidates(keys("Bolt Trading Company")) == [plain]
    # A watch written in the full form (subscriber and id inside) reads the same.
    legacy = b'{"subscriber_id":"s1","id":"w3","name":"Old Form","alt_names":[],"country":null,"uscc":null,' \
        b'"lei":null,"tags":[]}'
    await redis.hset(settings.redis_key("watch", "s1"), "w3", legacy)
    assert await store.get("s1", "w3") == WatchEntry(subscriber_id="s1", id="w3", name="Old Form")


async def test_replace_and_remove_keep_the_index_in_step(redis: Redis, settings: CommonSettings) -> None:
    store = WatchlistStore(redis, settings)
    await store.put(WatchEntry(subscriber_id="s1", id="w1", name="Oldname Industries"))
    await store.put(WatchEntry(subscriber_id="s1", id="w1", name="Newname Industries"))
    assert await store.candidates(keys("Oldname")) == []
    assert [e.name for e in await store.candidates(keys("Newname"))] == ["Newname Industries"]
    assert await store.remove("s1", "w1") is True
    assert await store.remove("s1", "w1") is False
    assert await store.candidates(keys("Newname")) == []
    assert await store.entries("s1") == []
    # the index keeps a digest of a watch's keys; the store names the keys it stored, so the old name's
    # postings went with the rename and the new name's with the removal: nothing is left to vacuum
    assert await RedisIndex(redis, settings, "widx").orphans() == 0
    assert [k async for k in redis.scan_iter(match=settings.redis_key("widx") + ":[bk]:*")] == []


async def test_a_worker_reads_watches_it_has_cached_again_once_any_process_changed_a_watch(
    redis: Redis, settings: CommonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    worker, api = WatchlistStore(redis, settings), WatchlistStore(redis, settings)  # two processes' stores
    listed = keys("KESTREL MARITIME")
    await api.put(WatchEntry(subscriber_id="s1", id="w1", name="Kestrel Maritime"))
    assert [(w.id, w.country) for w in await worker.candidates(listed)] == [("w1", None)]
    # the same keys, so the same candidates: only the entry read says what changed
    await api.put(WatchEntry(subscriber_id="s1", id="w1", name="Kestrel Maritime", country="CN"))
    assert [(w.id, w.country) for w in await worker.candidates(listed)] == [("w1", "CN")]
    await api.remove("s1", "w1")
    await api.put(WatchEntry(subscriber_id="s2", id="w2", name="Kestrel Maritime"))
    assert [(w.subscriber_id, w.id) for w in await worker.candidates(listed)] == [("s2", "w2")]
    # A writer that does not count the generation (a version before it, during a rolling upgrade) is seen
    # once the cache is older than its bound; until then the worker reads what it has.
    entries = settings.redis_key("watch", "s2")
    await redis.hset(entries, "w2", WatchEntry(subscriber_id="s2", id="w2", name="Kestrel Maritime", lei="X").to_json())
    assert [w.lei for w in await worker.candidates(listed)] == [None]
    monkeypatch.setattr("streams.watchlists._CACHE_MAX_AGE_S", 0.0)
    assert [w.lei for w in await worker.candidates(listed)] == ["X"]


async def test_a_full_entry_cache_starts_again_without_losing_a_lookup_s_candidates(
    redis: Redis, settings: CommonSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("streams.watchlists._CACHE_MAX_ENTRIES", 1)
    store = WatchlistStore(redis, settings)
    await store.put_many([WatchEntry(subscriber_id="s1", id="w1", name="Kestrel Maritime"),
                          WatchEntry(subscriber_id="s2", id="w2", name="Orvando Textiles")])  # fmt: skip
    both = [[keys("KESTREL MARITIME")], [keys("ORVANDO TEXTILES")]]
    assert [[w.id for w in found] for found in await store.candidates_many(both[1:])] == [["w2"]]  # cached
    # w2 from the cache, w1 read: one more than the cache holds, so it starts again as the lookup ends
    assert [[w.id for w in found] for found in await store.candidates_many(both)] == [["w1"], ["w2"]]
    assert [[w.id for w in found] for found in await store.candidates_many(both)] == [["w1"], ["w2"]]


async def test_namespaces_do_not_see_each_other(redis: Redis, settings: CommonSettings) -> None:
    other = CommonSettings(redis_url=settings.redis_url, namespace=settings.namespace + "-other")
    await WatchlistStore(redis, settings).put(WatchEntry(subscriber_id="s1", id="w1", name="Sharedname"))
    assert await WatchlistStore(redis, other).candidates(keys("Sharedname")) == []


async def test_thresholds(redis: Redis, settings: CommonSettings) -> None:
    store = WatchlistStore(redis, settings)
    assert await store.threshold("s1", 0.88) == 0.88
    await store.set_threshold("s1", 0.95)
    assert await store.threshold("s1", 0.88) == 0.95
    with pytest.raises(ValueError, match="threshold"):
        await store.set_threshold("s1", 1.5)


def test_watch_keys_cover_names_and_identifiers() -> None:
    entry = WatchEntry(subscriber_id="s", id="w", name="Huawei Technologies", uscc="914403001922038216")
    assert {"t:huawei", "id:uscc:914403001922038216"} <= watch_keys(entry)


def test_watchlist_csv_reports_bad_rows_and_keeps_the_rest() -> None:
    text = (
        "id,name,alt_names,country,uscc,lei,tags\n"
        "w1,Huawei Technologies Co. Ltd.,华为技术有限公司;Huawei,CN,914403001922038216,,supplier;telecom\n"
        "w2,,,,,,\n"
        "w3,Bad Code Ltd,,,91440300MA5F00000X,,\n"
        "w1,Duplicate,,,,,\n"
        ",No Id,,,,,\n"
        "w4,Good LEI AG,,DE,,5493001KJTIIGC8Y1R12,\n"
    )
    entries, errors = parse_watchlist_csv(text, "s1")
    assert [e.id for e in entries] == ["w1", "w4"]
    assert entries[0].alt_names == ("华为技术有限公司", "Huawei")
    assert entries[0].tags == ("supplier", "telecom")
    assert [(e.row, e.reason.split(":")[0]) for e in errors] == [
        (3, "id 'w2'"), (4, "id 'w3'"), (5, "duplicate id 'w1'"), (6, "missing id")]  # fmt: skip
    assert "invalid USCC" in errors[1].reason


def test_watchlist_csv_header_errors() -> None:
    assert parse_watchlist_csv("name\nx\n", "s")[1][0].reason.startswith("header lacks")
    assert "unknown column" in parse_watchlist_csv("id,name,colour\n1,x,red\n", "s")[1][0].reason


async def test_every_subscriber_watching_a_name_is_a_candidate(redis: Redis, settings: CommonSettings) -> None:
    store = WatchlistStore(redis, settings)
    watchers = [WatchEntry(subscriber_id=f"s{i}", id="w1", name="Ryonha Machinery") for i in range(12)]
    for watch in watchers:
        await store.put(watch)
    found = await store.candidates(keys("KOREA RYONHA MACHINERY JOINT VENTURE CORPORATION"), limit=5)
    assert sorted(w.subscriber_id for w in found) == sorted(w.subscriber_id for w in watchers)


async def test_reindex_indexes_watch_entries_as_the_running_code_would(redis: Redis, settings: CommonSettings) -> None:
    store = WatchlistStore(redis, settings)
    watched = WatchEntry(subscriber_id="s1", id="w1", name="Karvéll Dünmore")
    await store.put(watched)
    # As the code before diacritics folded indexed it.
    async with redis.pipeline(transaction=True) as pipe:
        RedisIndex(redis, settings, "widx").replace_many([(member("s1", "w1"), {"t:karvéll", "t:dünmore"})], pipe)
        await pipe.execute()
    assert await store.candidates(keys("KARVELL DUNMORE")) == []

    assert await store.subscribers() == ["s1"]
    assert await store.reindex("s1") == 1
    assert await store.candidates(keys("KARVELL DUNMORE")) == [watched]
    assert await store.candidates({"t:karvéll"}) == []
    # The keys indexed by the old code are not the running code's: their postings were left to an id that
    # names nobody, and the vacuum (run by `listwatch reindex`) removes them.
    assert await store.vacuum() > 0
    # a set: SCAN may return a key more than once (a rehash of Redis's keyspace during the scan)
    postings = [p for k in {k async for k in redis.scan_iter(match=settings.redis_key("widx") + ":b:*")}
                for v in (await redis.hgetall(k)).values() for p in v.split(b"\x1e")]  # fmt: skip
    assert len(postings) == len(watch_keys(watched))  # one a key, the watch's own
    index = RedisIndex(redis, settings, "widx")
    assert await index.orphans() == 0
    assert await index.vacuum() == 0
    assert await store.candidates(keys("KARVELL DUNMORE")) == [watched]


async def test_orphans_are_reported_to_ops_and_the_vacuum_command_removes_them(
    redis: Redis, settings: CommonSettings, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    store = WatchlistStore(redis, settings)
    await store.put(WatchEntry(subscriber_id="s1", id="w1", name="Karvéll Dünmore"))
    async with redis.pipeline(transaction=True) as pipe:  # indexed as the code before diacritics folded would
        RedisIndex(redis, settings, "widx").replace_many([(member("s1", "w1"), {"t:karvéll", "t:dünmore"})], pipe)
        await pipe.execute()
    await store.reindex("s1")  # the old keys' postings are left behind
    orphans = await store.orphans()
    assert orphans > 0
    worker = stages(redis, settings)
    await worker.report_orphans()
    registry = worker.metrics.registry
    gauge = "listwatch_index_orphaned_members"
    assert registry.get_sample_value(gauge, {"index": "watchlists"}) == orphans
    assert registry.get_sample_value(gauge, {"index": "lists"}) == 0

    # One vacuum at a time: while another holds the lease, the command says so and nothing is counted off.
    lease = settings.redis_key("widx") + ":vacuuming"
    await redis.set(lease, "1")
    assert await asyncio.to_thread(main, ["vacuum"], env) == EXIT_BUSY
    assert "another vacuum is running" in capsys.readouterr().err
    assert await asyncio.to_thread(main, ["reindex"], env) == EXIT_BUSY  # the rewrite done, the vacuum left
    assert "reindexed, but not vacuumed" in capsys.readouterr().err
    assert await store.orphans() == orphans
    await redis.delete(lease)

    assert await asyncio.to_thread(main, ["vacuum"], env) == 0
    lines = [orjson.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == {"index": "lists", "stale_postings_removed": 0}
    assert lines[1]["index"] == "watchlists"
    assert lines[1]["stale_postings_removed"] > 0
    assert not await redis.exists(lease)
    await worker.report_orphans()
    assert registry.get_sample_value(gauge, {"index": "watchlists"}) == 0
    assert await store.candidates(keys("KARVELL DUNMORE")) == [await store.get("s1", "w1")]
