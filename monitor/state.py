"""The last good snapshot of every source, and the per-source leases that keep replicas apart.

Where it lives: Redis (AOF on, fsync every second), under ``{namespace}:monitor:{source}:*``:
- ``:entries`` list of chunks, each up to ``_CHUNK`` entries (key and canonical JSON, length-prefixed)
  compressed together with zlib: what the next diff compares against. Entries of one list share most of
  their text (field names, programmes, countries), so a chunk keeps about 100 bytes per real OFAC entry
  where a hash field per entry kept about 900. Read whole and written whole, never one entry at a time.
  A snapshot saved as a hash (entry key -> JSON) by earlier versions is still read, until the next save;
- ``:meta`` hash: snapshot id, entry count, when it was saved and last checked, HTTP validators;
- ``:prints`` string: the fingerprints of the snapshot's raw records (sources that have them), so that the
  next snapshot parses only the records that moved (JSON: mapper version and key -> fingerprint);
- ``:lease`` string: the replica that polls this source now, with a TTL it keeps renewing.
Redis rather than local disk, because every monitor replica must see the same state and take over a
dead replica's sources. A new snapshot is written beside the old one and swapped in with one atomic
RENAME, and only by the replica that still holds the lease (fencing), so a crash mid-save keeps the old
state and a replica that lost its lease cannot overwrite a newer one.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from redis.asyncio import Redis

from contracts.clients import text
from contracts.settings import CommonSettings
from monitor.fetch import Validators
from monitor.spool import EntrySpool

_BATCH = 2000
_CHUNK = 1000  # entries compressed together: about 0.75 MB of real OFAC entries before compression
_LEN = 4

# KEYS: lease, next entries, entries, meta, next prints, prints. ARGV: owner, then meta field/value pairs.
_SWAP = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('RENAME', KEYS[2], KEYS[3])
else
  redis.call('DEL', KEYS[3])
end
if redis.call('EXISTS', KEYS[5]) == 1 then
  redis.call('RENAME', KEYS[5], KEYS[6])
else
  redis.call('DEL', KEYS[6])
end
redis.call('HSET', KEYS[4], unpack(ARGV, 2))
return 1
"""
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class SnapshotMeta:
    snapshot_id: str | None
    count: int
    saved_at: float | None
    checked_at: float | None
    validators: Mapping[str, Validators]
    # The publisher's version of the saved snapshot, for sources that publish deltas between versions.
    version: str | None = None
    # The last check's outcome (changed, unchanged, not_modified, rejected, failed), what it said, and when.
    verdict: str | None = None
    verdict_detail: str | None = None
    verdict_at: float | None = None


class LeaseLost(Exception):
    """Another replica owns the source now; this replica's result is discarded."""


class SnapshotStore:
    def __init__(self, redis: Redis, settings: CommonSettings, owner: str) -> None:
        self._redis = redis
        self._settings = settings
        self.owner = owner

    def _key(self, source: str, part: str) -> str:
        return self._settings.redis_key("monitor", source, part)

    async def meta(self, source: str) -> SnapshotMeta:
        stored = await self._redis.hgetall(self._key(source, "meta"))
        raw = {text(k): text(v) for k, v in stored.items()}
        validators: dict[str, Any] = orjson.loads(raw.get("validators", "{}"))
        return SnapshotMeta(
            snapshot_id=raw.get("snapshot_id"),
            count=int(raw.get("count", 0)),
            saved_at=float(raw["saved_at"]) if "saved_at" in raw else None,
            checked_at=float(raw["checked_at"]) if "checked_at" in raw else None,
            validators={name: Validators(**v) for name, v in validators.items()},
            version=raw.get("version") or None,
            verdict=raw.get("verdict") or None,
            verdict_detail=raw.get("verdict_detail") or None,
            verdict_at=float(raw["verdict_at"]) if raw.get("verdict_at") else None,
        )

    async def entries(self, source: str) -> EntrySpool:
        """The last good snapshot's entries, streamed from Redis into a spool (not held in memory)."""
        out = EntrySpool()
        key = self._key(source, "entries")
        if text(await self._redis.type(key)) == "hash":  # saved by a version before chunks
            async for field, value in self._redis.hscan_iter(key, count=_BATCH):
                out.add(text(field), value)
            return out
        for i in range(await self._redis.llen(key)):
            # One chunk at a time: memory holds a chunk, never the snapshot. Only the lease holder saves, so
            # the list does not change under a replica that holds the lease.
            chunk = await self._redis.lindex(key, i)
            if not isinstance(chunk, bytes):
                raise LeaseLost(f"{source}: the saved snapshot changed while it was read")
            for field, value in unpack_chunk(chunk):
                out.add(field, value)
        return out

    async def prints(self, source: str) -> tuple[dict[str, int] | None, str | None]:
        """The saved snapshot's record fingerprints and the mapper version they were made under."""
        data = await self._redis.get(self._key(source, "prints"))
        if data is None:
            return None, None
        stored: dict[str, Any] = orjson.loads(data)
        return stored["prints"], stored["version"]

    async def mark_checked(self, source: str, validators: Mapping[str, Validators] | None = None) -> None:
        mapping: dict[Any, Any] = {"checked_at": repr(time.time())}
        if validators is not None:
            mapping["validators"] = _validators_json(validators)
        await self._redis.hset(self._key(source, "meta"), mapping=mapping)

    async def record_verdict(self, source: str, outcome: str, detail: str) -> None:
        """What the last check concluded, for people looking at the lists (the web page, `listwatch`)."""
        mapping = {"verdict": outcome, "verdict_detail": detail[:500], "verdict_at": repr(time.time())}
        await self._redis.hset(self._key(source, "meta"), mapping=mapping)  # type: ignore[arg-type]

    async def save(
        self,
        source: str,
        snapshot_id: str,
        entries: Mapping[str, bytes],
        validators: Mapping[str, Validators],
        version: str | None = None,
        prints: tuple[Mapping[str, int], str] | None = None,
    ) -> None:
        """Replace the source's state atomically; raises LeaseLost when this replica no longer owns it."""
        staging = self._key(source, f"entries:next:{self.owner}")
        prints_staging = self._key(source, f"prints:next:{self.owner}")
        await self._redis.delete(staging, prints_staging)
        if prints is not None:
            blob = orjson.dumps({"version": prints[1], "prints": prints[0]})
            await self._redis.set(prints_staging, blob)
        for chunk in pack_chunks(entries):
            await self._redis.rpush(staging, chunk)
        now = repr(time.time())
        meta = ["snapshot_id", snapshot_id, "count", str(len(entries)), "saved_at", now, "checked_at", now,
                "validators", _validators_json(validators), "version", version or ""]  # fmt: skip
        keys = [self._key(source, "lease"), staging, self._key(source, "entries"), self._key(source, "meta"),
                prints_staging, self._key(source, "prints")]  # fmt: skip
        swapped = await self._redis.eval(_SWAP, len(keys), *keys, self.owner, *meta)
        if not swapped:
            await self._redis.delete(staging, prints_staging)
            raise LeaseLost(f"{source}: lease lost before the snapshot could be saved")

    async def acquire(self, source: str, ttl_s: float) -> bool:
        key = self._key(source, "lease")
        if await self._redis.set(key, self.owner, nx=True, px=int(ttl_s * 1000)):
            return True
        return await self.renew(source, ttl_s)

    async def renew(self, source: str, ttl_s: float) -> bool:
        result = await self._redis.eval(_RENEW, 1, self._key(source, "lease"), self.owner, int(ttl_s * 1000))
        return bool(result)

    async def release(self, source: str) -> None:
        await self._redis.eval(_RELEASE, 1, self._key(source, "lease"), self.owner)


def pack_chunks(entries: Mapping[str, bytes]) -> Iterator[bytes]:
    """The entries in compressed chunks of ``_CHUNK`` (zlib level 1: about 4 µs an entry, half of what level 6
    costs, for a fifth more bytes)."""
    chunk: list[bytes] = []
    for n, key in enumerate(entries, start=1):
        raw = key.encode()
        value = entries[key]
        chunk += [len(raw).to_bytes(_LEN, "big"), raw, len(value).to_bytes(_LEN, "big"), value]
        if n % _CHUNK == 0:
            yield zlib.compress(b"".join(chunk), 1)
            chunk = []
    if chunk:
        yield zlib.compress(b"".join(chunk), 1)


def unpack_chunk(chunk: bytes) -> Iterable[tuple[str, bytes]]:
    """One chunk's (key, canonical JSON) pairs; a chunk that does not decode raises ValueError."""
    try:
        data = zlib.decompress(chunk)
    except zlib.error as exc:
        raise ValueError(f"a saved snapshot chunk does not decompress: {exc}") from exc
    out: list[tuple[str, bytes]] = []
    at = 0
    while at < len(data):
        fields: list[bytes] = []
        for _ in range(2):
            size = int.from_bytes(data[at : at + _LEN], "big")
            at += _LEN
            if at + size > len(data):
                raise ValueError("a saved snapshot chunk ends inside an entry")
            fields.append(data[at : at + size])
            at += size
        out.append((fields[0].decode(), fields[1]))
    return out


def _validators_json(validators: Mapping[str, Validators]) -> str:
    return orjson.dumps(
        {name: {"etag": v.etag, "last_modified": v.last_modified, "size": v.size} for name, v in validators.items()}
    ).decode()
