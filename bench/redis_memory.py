"""Redis memory per indexed list entry and per watched company (issue: speed at scale, target 5).

A private ``redis-server`` (no persistence, nothing else in it) on a free port; ``used_memory`` and the key
count are read before and after loading:
- the stream workers' list state and index (streams/list_state.py) for every entry of a real OFAC SDN file
  (``LISTWATCH_REALDATA``), each applied as its baseline change is; the first TRAIN_AT measured apart (the
  list's compression dictionary is trained on them, streams/zdicts.py);
- the monitor's saved snapshot of the same entries (monitor/state.py);
- made-up watched companies in the watchlist store and its index (streams/watchlists.py);
- each index filled with copies of those keys, and one subscriber's watch records and ids with copies of those
  records, to a million members (an index's or a hash's cost per member at 15k is not its cost at 1M).
Prints one JSON object per store, with the projection for 1M list entries plus 1M watched companies against
the 1 GiB target, and writes ``bench/results/redis_memory.json``. ``--quick``: 2,000 of each.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from redis.asyncio import Redis

from bench.common import connect_redis, free_port, real_ofac_snapshot, save_results, start_redis

if TYPE_CHECKING:
    from contracts.settings import CommonSettings


async def _used(redis: Redis) -> tuple[int, int]:
    info = await redis.info("memory")
    return int(info["used_memory"]), int(await redis.dbsize())


async def measure(redis: Redis, label: str, count: int, load: Callable[[], Awaitable[None]]) -> dict[str, object]:
    before, keys_before = await _used(redis)
    started = time.perf_counter()
    await load()
    seconds = time.perf_counter() - started
    after, keys_after = await _used(redis)
    per = (after - before) / count
    return {"benchmark": "redis_memory", "store": label, "items": count, "bytes_per_item": round(per),
            "keys_per_item": round((keys_after - keys_before) / count, 2),
            "load_seconds": round(seconds, 1)}  # fmt: skip


async def first_and_rest(
    redis: Redis, what: str, unit: str, first: int, scale: int, fill: Callable[[int, int], Awaitable[None]]
) -> list[dict[str, object]]:
    """``fill(start, stop)`` measured for the first ``first`` items, then for the rest up to ``scale``."""
    small = await measure(redis, f"{what}, {first:,} {unit}", first, lambda: fill(0, first))
    big = await measure(redis, f"{what}, {unit} {first + 1:,} to {scale:,}", scale - first, lambda: fill(first, scale))
    return [small, big]


async def index_at_scale(
    redis: Redis, settings: CommonSettings, label: str, name: str, keysets: list[set[str]], scale: int
) -> list[dict[str, object]]:
    """An index of its own filled with copies of ``keysets`` (every key and member suffixed by its copy, so
    that keys spread as a list of ``scale`` different companies would spread them) to ``scale`` members: bytes
    per member for the first copy, and for each member added after it."""
    from streams.index import RedisIndex

    index = RedisIndex(redis, settings, name)

    async def fill(start: int, stop: int) -> None:
        for first in range(start, stop, 2000):
            items = []
            for n in range(first, min(stop, first + 2000)):
                copy, i = divmod(n, len(keysets))
                items.append((f"c{copy}\x1f{i}", {f"{k}~{copy}" for k in keysets[i]}))
            async with redis.pipeline(transaction=True) as pipe:
                index.replace_many(items, pipe)
                await pipe.execute()

    return await first_and_rest(redis, f"{label} alone", "members", len(keysets), scale, fill)


async def records_at_scale(
    redis: Redis, settings: CommonSettings, records: list[bytes], scale: int
) -> list[dict[str, object]]:
    """The watch records and their ids alone (the subscriber's hash and its id chunks, streams/watch_ids.py),
    for copies of ``records`` under one subscriber up to ``scale``: bytes per watch for the first copy and for
    each added after it."""
    from streams.watch_ids import WatchIds

    def key(subscriber_id: str) -> str:
        return settings.redis_key("scale-watch", subscriber_id)

    ids = WatchIds(redis, settings, key)

    async def fill(start: int, stop: int) -> None:
        for first in range(start, stop, 2000):
            batch = {f"w{n:07d}": records[n % len(records)] for n in range(first, min(stop, first + 2000))}
            async with redis.pipeline(transaction=True) as pipe:
                pipe.hset(key("scale"), mapping=batch)  # type: ignore[arg-type]
                ids.change("scale", list(batch), [], pipe)
                await pipe.execute()

    return await first_and_rest(redis, "watch records and ids alone", "watches", len(records), scale, fill)


async def run(limit: int | None, scale: int) -> list[dict[str, object]]:
    from contracts.settings import CommonSettings
    from monitor.diff import decode_entry, diff
    from monitor.spool import EntrySpool
    from monitor.state import SnapshotStore
    from streams.enrich.change import enrich
    from streams.list_state import ListStateStore
    from streams.match.logic import enrichment_keys
    from streams.watchlists import WatchEntry, WatchlistStore, watch_keys
    from streams.zdicts import TRAIN_AT

    port = free_port()
    proc = start_redis(port)
    try:
        redis = await connect_redis(port)
        settings = CommonSettings.from_env({"LISTWATCH_REDIS_URL": f"redis://127.0.0.1:{port}/0"})
        source, parsed = real_ofac_snapshot()
        keys = list(parsed.entries)[:limit] if limit else list(parsed.entries)
        subset = EntrySpool.of({k: parsed.entries[k] for k in keys})
        changes = [c for c in diff("ofac_sdn", None, None, type(parsed)("s", subset), datetime.now(UTC), source.info)]
        lists = ListStateStore(redis, settings)

        async def load_lists(start: int, stop: int) -> None:
            for change in changes[start:stop]:
                await lists.apply(enrich(change))

        async def load_monitor() -> None:
            store = SnapshotStore(redis, settings, "bench")
            assert await store.acquire("ofac_sdn", 600)
            await store.save("ofac_sdn", "s", subset, {})

        watches = WatchlistStore(redis, settings)
        names = [decode_entry(subset[k]).name.title() + " Holdings" for k in keys]

        async def load_watches() -> None:
            await watches.put_many(WatchEntry(subscriber_id="bench", id=f"w{i}", name=n) for i, n in enumerate(names))

        # A list's entries are compressed with a dictionary trained on the first TRAIN_AT of them (streams/zdicts.py):
        # the rest, which it was not trained on, are what a list of a million costs an entry.
        first = min(TRAIN_AT, len(changes) // 2)
        lists_label = "streams list state + index (real OFAC SDN entries)"
        results = [
            *await first_and_rest(redis, lists_label, "entries", first, len(changes), load_lists),
            await measure(redis, "monitor saved snapshot (same entries)", len(keys), load_monitor),
            await measure(redis, "watchlist + index (made-up companies)", len(names), load_watches),
        ]
        # The indexes as a million members fill them (one copy of the real keys per 14,965 members): what a
        # member's keys cost at 1M is not what they cost in an index of 15k.
        list_keys = [enrichment_keys(enrich(c).enrichment) for c in changes]
        watch_keysets = [watch_keys(WatchEntry(subscriber_id="bench", id=f"w{i}", name=n)) for i, n in enumerate(names)]
        for label, name, keysets in (
            ("list index", "scale-lidx", list_keys),
            ("watch index", "scale-widx", watch_keysets),
        ):
            results += await index_at_scale(redis, settings, label, name, keysets, scale)
        results += await records_at_scale(redis, settings, [WatchEntry("s", "w", n).to_json() for n in names], scale)
        small_l, big_l, small_w, big_w, small_r, big_r = (int(str(r["bytes_per_item"])) for r in results[4:10])
        per_entry = int(str(results[1]["bytes_per_item"])) - small_l + big_l + int(str(results[2]["bytes_per_item"]))
        per_watch = int(str(results[3]["bytes_per_item"])) - small_w + big_w - small_r + big_r
        projected = (per_entry + per_watch) * 1_000_000 / 2**30
        results.append({"benchmark": "redis_memory", "store": "projection: 1M list entries + 1M watched companies",
                        "gib": round(projected, 2), "target_gib": 1.0, "met": projected <= 1.0,
                        "how": f"the 15k measurements (list entries: those after the list's dictionary) with each "
                               f"index's and the watch records' cost per member at {scale:,} in place of their "
                               f"cost at 15k"})  # fmt: skip
        await redis.aclose()
        return results
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench redis_memory")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    results = asyncio.run(run(2000 if args.quick else None, 100_000 if args.quick else 1_000_000))
    for r in results:
        print(json.dumps(r))
    save_results("redis_memory", results, args.quick)
    return 0
