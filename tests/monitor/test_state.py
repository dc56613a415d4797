"""The monitor's saved snapshot: compressed chunks that read back exactly, the older hash still read, bad
chunks refused with a clear error, and the lease still fencing the save."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest
from redis.asyncio import Redis

from contracts.settings import CommonSettings
from monitor.diff import read_snapshot
from monitor.snapshot import from_path
from monitor.sources import registry
from monitor.state import _CHUNK, LeaseLost, SnapshotStore, pack_chunks, unpack_chunk
from tests.snapshots import materialise


def _made_up(n: int) -> dict[str, bytes]:
    # Keys and values of every length, including empty ones, non-ASCII and the framing's own bytes.
    return {f"k{i}·名{'x' * (i % 7)}": (b'{"n":%d}' % i) * (i % 3) + b"\x00\xff" * (i % 2) for i in range(n)}


def test_chunks_read_back_exactly_in_order() -> None:
    entries = _made_up(2 * _CHUNK + 7)
    chunks = list(pack_chunks(entries))
    assert len(chunks) == 3
    assert [kv for chunk in chunks for kv in unpack_chunk(chunk)] == list(entries.items())
    assert list(pack_chunks({})) == []


def test_real_ofac_entries_take_a_fraction_of_their_size(tmp_path: Path) -> None:
    source = registry()["ofac_sdn"]
    files = from_path(source.info, materialise("ofac_sdn", "gitscrape_2024-05-03", tmp_path))
    entries = dict(read_snapshot(source, files, files.snapshot_id()).entries.items())
    chunks = list(pack_chunks(entries))
    assert dict(kv for chunk in chunks for kv in unpack_chunk(chunk)) == entries
    raw = sum(len(k.encode()) + len(v) for k, v in entries.items())
    assert sum(map(len, chunks)) < raw / 4  # about 1/8 measured; a regression to per-entry compression is 1/2


@pytest.mark.parametrize(
    ("chunk", "says"),
    [
        (b"not zlib at all", "does not decompress"),
        (zlib.compress((5).to_bytes(4, "big") + b"ab"), "ends inside an entry"),
        (zlib.compress((1).to_bytes(4, "big") + b"a" + (9).to_bytes(4, "big") + b"{}"), "ends inside an entry"),
    ],
)
def test_a_broken_chunk_is_refused_with_a_clear_error(chunk: bytes, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        unpack_chunk(chunk)


async def test_save_and_read_back_through_redis(redis: Redis, settings: CommonSettings) -> None:
    store = SnapshotStore(redis, settings, "m1")
    assert await store.acquire("src", 60)
    entries = _made_up(_CHUNK + 1)
    await store.save("src", "snap-1", entries, {})
    key = settings.redis_key("monitor", "src", "entries")
    assert await redis.type(key) == b"list"
    assert await redis.llen(key) == 2
    assert dict((await store.entries("src")).items()) == entries
    assert (await store.meta("src")).count == len(entries)
    # An empty snapshot (a list emptied for real, past the guards) saves as no entries at all.
    await store.save("src", "snap-2", {}, {})
    assert not await redis.exists(key)
    assert len(await store.entries("src")) == 0


async def test_a_snapshot_saved_as_a_hash_before_is_read_then_replaced(redis: Redis, settings: CommonSettings) -> None:
    store = SnapshotStore(redis, settings, "m1")
    key = settings.redis_key("monitor", "src", "entries")
    old = {"a": b'{"name":"A"}', "b": b'{"name":"B"}'}
    await redis.hset(key, mapping=old)  # type: ignore[arg-type]
    assert dict((await store.entries("src")).items()) == old
    assert await store.acquire("src", 60)
    await store.save("src", "snap-2", {**old, "c": b"{}"}, {})
    assert await redis.type(key) == b"list"
    assert dict((await store.entries("src")).items()) == {**old, "c": b"{}"}


async def test_a_replica_without_the_lease_cannot_save(redis: Redis, settings: CommonSettings) -> None:
    owner, other = SnapshotStore(redis, settings, "m1"), SnapshotStore(redis, settings, "m2")
    assert await owner.acquire("src", 60)
    await owner.save("src", "snap-1", {"a": b"1"}, {})
    with pytest.raises(LeaseLost):
        await other.save("src", "snap-2", {"b": b"2"}, {})
    assert dict((await owner.entries("src")).items()) == {"a": b"1"}
    staging = [settings.redis_key("monitor", "src", f"{part}:next:{o}") for part in ("entries", "prints") for o in ("m1", "m2")]
    assert not await redis.exists(*staging)
