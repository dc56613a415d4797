from __future__ import annotations

import asyncio
import random

from redis.asyncio import Redis

from contracts.settings import CommonSettings
from streams.watch_ids import CHUNK_MAX
from streams.watchlists import WatchEntry, WatchlistStore


async def _chunks(redis: Redis, settings: CommonSettings, sub: str) -> list[tuple[str, list[str]]]:
    bounds = [b.decode() for b in await redis.zrange(settings.redis_key("wids", sub), 0, -1)]
    out = []
    for bound in bounds:
        ids = await redis.zrange(settings.redis_key("wchunk", sub + "\x1f" + bound), 0, -1)
        out.append((bound, [i.decode() for i in ids]))
    return out


async def _check_chunks(redis: Redis, settings: CommonSettings, sub: str) -> None:
    """Every chunk non-empty, compact, its ids from its bound up to the next chunk's."""
    chunks = await _chunks(redis, settings, sub)
    for n, (bound, ids) in enumerate(chunks):
        assert ids, f"empty chunk {bound!r}"
        assert len(ids) <= CHUNK_MAX
        assert ids[0] >= bound
        if n + 1 < len(chunks):
            assert ids[-1] < chunks[n + 1][0]
        key = settings.redis_key("wchunk", sub + "\x1f" + bound)
        assert await redis.object("encoding", key) == b"listpack"


async def _all_pages(store: WatchlistStore, sub: str, limit: int) -> list[str]:
    ids: list[str] = []
    cursor = None
    while True:
        entries, cursor = await store.page(sub, cursor, limit)
        ids += [e.id for e in entries]
        if cursor is None:
            return ids


async def test_ids_page_in_order_through_splits_and_removals(redis: Redis, settings: CommonSettings) -> None:
    store = WatchlistStore(redis, settings)
    rng = random.Random(7)
    model: dict[str, str] = {}
    # ids of several shapes, inserted out of order, so chunks split in the middle, at the ends and below
    # the first bound; then removals empty some chunks (the first one included) and new ids land in gaps
    pool = [f"w{n}" for n in range(700)] + [f"a-{n:04d}" for n in range(300)] + ["0", "Z", "zz:9", "m@x.y"]
    for round_ in range(4):
        batch = rng.sample(pool, 250)
        await store.put_many(WatchEntry(subscriber_id="s1", id=i, name=f"Name {i} r{round_}") for i in batch)
        model.update({i: f"Name {i} r{round_}" for i in batch})
        gone = rng.sample(sorted(model), 120 if round_ < 3 else len(model) - 5)
        for i in gone:
            assert await store.remove("s1", i) is True
            del model[i]
        assert await store.remove("s1", gone[0]) is False
        await _check_chunks(redis, settings, "s1")
        assert await store.count("s1") == len(model)
        for limit in (1, 7, 128, 1000):
            assert await _all_pages(store, "s1", limit) == sorted(model)
        assert [(e.id, e.name) for e in await store.entries("s1")] == sorted(model.items())
    # and back up past several splits, ids arriving in order (each one above the last chunk's)
    await store.put_many(WatchEntry(subscriber_id="s1", id=f"x{n:05d}", name="N") for n in range(3 * CHUNK_MAX))
    model.update({f"x{n:05d}": "N" for n in range(3 * CHUNK_MAX)})
    await _check_chunks(redis, settings, "s1")
    assert await _all_pages(store, "s1", 50) == sorted(model)
    assert await store.count("s1") == len(model)
    # a cursor past the end, and one between ids that are not there
    assert await store.page("s1", "zzzz", 10) == ([], None)
    entries, _ = await store.page("s1", "x00010a", 2)
    assert [e.id for e in entries] == ["x00011", "x00012"]


async def test_ids_written_before_are_paged_counted_and_moved(redis: Redis, settings: CommonSettings) -> None:
    store = WatchlistStore(redis, settings)
    old_ids = settings.redis_key("watchids", "s1")
    # the version before: a sorted set of ids beside the hash (s1); earlier still, the hash alone (s2)
    await redis.hset(settings.redis_key("watch", "s1"), mapping={f"o{n:03d}": f'{{"name":"Old {n}"}}' for n in range(300)})
    await redis.zadd(old_ids, {f"o{n:03d}": 0 for n in range(300)})
    await redis.hset(settings.redis_key("watch", "s2"), mapping={"b": '{"name":"B"}', "a": '{"name":"A"}'})
    await store.put_many(WatchEntry(subscriber_id="s1", id=f"n{n:03d}", name=f"New {n}") for n in range(200))
    # an old watch written again moves; one removed goes from the old set
    await store.put(WatchEntry(subscriber_id="s1", id="o005", name="Old 5 again"))
    assert await store.remove("s1", "o006") is True
    expected = sorted([f"o{n:03d}" for n in range(300) if n != 6] + [f"n{n:03d}" for n in range(200)])
    assert await store.count("s1") == len(expected)
    assert await _all_pages(store, "s1", 33) == expected
    assert await redis.zcard(old_ids) == 298
    assert [e.id for e in (await store.page("s2", None, 1))[0]] == ["a"]
    assert await store.count("s2") == 2

    # two alerts processes starting at once both move them, step by step
    other = Redis.from_url(settings.redis_url)
    try:
        assert sum(await asyncio.gather(store.migrate(step=16), WatchlistStore(other, settings).migrate(step=16))) >= 1
    finally:
        await other.aclose()
    assert not await redis.exists(old_ids)
    assert await store.count("s1") == len(expected)
    assert await _all_pages(store, "s1", 100) == expected
    assert [(e.id, e.name) for e in (await store.page("s1", "o004", 1))[0]] == [("o005", "Old 5 again")]
    assert await _all_pages(store, "s2", 1) == ["a", "b"]
    await _check_chunks(redis, settings, "s1")
    assert await store.migrate() == 0
    # a hash whose ids neither place knows is repaired when counted, paged or moved
    await redis.hset(settings.redis_key("watch", "s2"), "c", '{"name":"C"}')
    assert await store.count("s2") == 3


async def test_two_replicas_writing_one_watchlist_at_once(redis: Redis, settings: CommonSettings) -> None:
    # two API processes (two clients) adding and removing in one subscriber's watchlist concurrently: the
    # chunks are changed by scripts, so the ids stay whole and counted once
    other = Redis.from_url(settings.redis_url)
    try:
        stores = [WatchlistStore(redis, settings), WatchlistStore(other, settings)]

        async def writer(n: int) -> None:
            for start in range(0, 600, 20):
                await stores[n].put_many(
                    WatchEntry(subscriber_id="s1", id=f"{start + i:04d}-{n}", name="X") for i in range(20)
                )
                await stores[n].remove("s1", f"{start:04d}-{1 - n}")

        await asyncio.gather(writer(0), writer(1))
        ids = await _all_pages(stores[0], "s1", 97)
        assert ids == sorted(ids)
        assert len(ids) == len(set(ids))
        assert await stores[1].count("s1") == len(ids)
        await _check_chunks(redis, settings, "s1")
        assert set(ids) >= {f"{k:04d}-{n}" for k in range(600) if k % 20 for n in (0, 1)}
    finally:
        await other.aclose()
