"""Subscribers' watchlists, stored durably in Redis (AOF), with the index the matcher reads.

Layout (every key under the namespace):
- ``watch:{subscriber}``: hash, watch id -> WatchEntry JSON (the source of truth);
- each subscriber's ids in order, for pages and the count: streams/watch_ids.py;
- ``widx:*``: the name and identifier keys of every watch entry (streams/index.py);
- ``threshold:{subscriber}``: the subscriber's match threshold (set through the API, read by the matcher);
- ``widx:generation``: counts the transactions that wrote or removed watch entries or re-indexed them (see
  ``_WatchCache``).
The index is rewritten with the entry in one MULTI/EXEC transaction, so it never drifts from it.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from contracts.clients import optimistic, text
from contracts.settings import CommonSettings
from streams.enrich.names import name_form
from streams.index import MAX_WATCH_CANDIDATES, PostingsCache, RedisIndex
from streams.match.keys import identifier_key, is_identifier_key, name_keys, share_floor
from streams.watch_ids import WatchIds

_SEP = "\x1f"
_STORED_ELSEWHERE = frozenset({"subscriber_id", "id"})
# The entry cache's bounds: past this many entries it starts again (about 330 bytes an entry with its name:
# about 66 MB), and it is read again at least this often whatever the generation says (a writer of a version
# that did not count generations, during a rolling upgrade).
_CACHE_MAX_ENTRIES = 200_000
_CACHE_MAX_AGE_S = 60.0
# Postings (and ids' members) kept of the watch index: about 66 bytes a posting, about 66 MB; past it, keys
# are read as without a cache. 100,000 watches post about 900,000.
_CACHE_MAX_POSTINGS = 1_000_000


@dataclass(frozen=True, slots=True)
class WatchEntry:
    """A company one subscriber watches."""

    subscriber_id: str
    id: str
    name: str
    alt_names: tuple[str, ...] = ()
    country: str | None = None
    uscc: str | None = None
    lei: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)

    def names(self) -> tuple[str, ...]:
        return (self.name, *self.alt_names)

    def identifiers(self) -> list[tuple[str, str]]:
        ids = []
        if self.uscc:
            ids.append(("uscc", self.uscc))
        if self.lei:
            ids.append(("lei", self.lei))
        return ids

    def to_json(self) -> bytes:
        """The stored form: the fields that differ from their defaults, without the subscriber and id (the
        hash and field it is stored under say them): about 40 bytes for a name alone instead of about 130."""
        stored = {k: v for k, v in asdict(self).items() if k not in _STORED_ELSEWHERE and v not in (None, ())}
        return orjson.dumps(stored)

    @classmethod
    def from_json(cls, data: bytes | str, subscriber_id: str, watch_id: str) -> WatchEntry:
        """Read the stored form (or the full one written before 2026-11-29's fifth session)."""
        raw: dict[str, Any] = orjson.loads(data)
        raw["subscriber_id"], raw["id"] = subscriber_id, watch_id
        raw["alt_names"] = tuple(raw.get("alt_names") or ())
        raw["tags"] = tuple(raw.get("tags") or ())
        return cls(**raw)


def watch_keys(entry: WatchEntry) -> set[str]:
    """Index keys of a watch entry: its names' keys and ``id:{scheme}:{value}`` per identifier."""
    keys: set[str] = set()
    for name in entry.names():
        keys |= name_keys(name_form(name))
    keys.update(identifier_key(scheme, value) for scheme, value in entry.identifiers())
    return keys


class WatchlistStore:
    """Watch entries per subscriber, indexed for candidate retrieval, and per-subscriber thresholds."""

    def __init__(self, redis: Redis, settings: CommonSettings) -> None:
        self._redis = redis
        self._settings = settings
        self._cache = _WatchCache()
        self._index = RedisIndex(redis, settings, "widx", cache=self._cache.index)
        self._ids = WatchIds(redis, settings, self._entries_key)
        self._generation = settings.redis_key("widx", "generation")

    def _entries_key(self, subscriber_id: str) -> str:
        return self._settings.redis_key("watch", subscriber_id)

    async def put(self, entry: WatchEntry) -> None:
        """Insert or replace a watch entry and its index rows atomically."""
        await self.put_many([entry])

    async def put_many(self, entries: Iterable[WatchEntry]) -> None:
        """Insert or replace entries, in one transaction (the caller keeps batches to a few hundred)."""
        batch = list(entries)
        ids: dict[str, list[str]] = {}
        was = await self._indexed(batch)
        async with self._redis.pipeline(transaction=True) as pipe:
            for entry in batch:
                pipe.hset(self._entries_key(entry.subscriber_id), entry.id, entry.to_json())
                ids.setdefault(entry.subscriber_id, []).append(entry.id)
            for subscriber_id, added in ids.items():
                self._ids.change(subscriber_id, added, [], pipe)
            self._index.replace_many([(member(e.subscriber_id, e.id), watch_keys(e)) for e in batch], pipe, was)
            pipe.incr(self._generation)
            await pipe.execute()

    async def _indexed(self, batch: list[WatchEntry]) -> dict[str, set[str]]:
        """The keys these watches are indexed under now: their stored records' (the index keeps only a digest
        of them; a record written meanwhile makes the index give the watch a new id, never a wrong posting)."""
        stored = await self._read_many((e.subscriber_id, e.id) for e in batch)
        return {m: watch_keys(entry) for m, entry in stored.items()}

    async def _read_many(self, wanted: Iterable[tuple[str, str]]) -> dict[str, WatchEntry]:
        """Stored watch entries by member, for (subscriber, watch id) pairs: one HMGET per subscriber, in one
        round trip; missing ones left out."""
        by_subscriber: dict[str, list[str]] = {}
        for subscriber_id, watch_id in wanted:
            by_subscriber.setdefault(subscriber_id, []).append(watch_id)
        if not by_subscriber:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for subscriber_id, ids in by_subscriber.items():
                pipe.hmget(self._entries_key(subscriber_id), ids)
            rows = await pipe.execute()
        return _entries(by_subscriber, rows)

    async def orphans(self) -> int:
        """Entries re-indexed since the last vacuum whose previous postings were left behind."""
        return await self._index.orphans()

    async def vacuum(self) -> int:
        """Remove the index's postings left by watches whose keys it could not find (``RedisIndex.vacuum``)."""
        return await self._index.vacuum()

    async def subscribers(self) -> list[str]:
        """Subscribers with a watchlist (each a hash ``watch:{subscriber}``)."""
        prefix = self._settings.redis_key("watch", "")
        return sorted({text(k)[len(prefix) :] async for k in self._redis.scan_iter(match=prefix + "*", count=1000)})

    async def reindex(self, subscriber_id: str, page: int = 500) -> int:
        """Index the subscriber's watch entries again with the code running now (after a change to name
        folding or index keys); a page at a time under WATCH, so an entry edited meanwhile is not indexed as it
        was. How many entries."""
        key = self._entries_key(subscriber_id)
        ids = sorted(text(i) for i in await self._redis.hkeys(key))
        for start in range(0, len(ids), page):
            chunk = ids[start : start + page]

            async def index(pipe: Pipeline, chunk: list[str] = chunk) -> None:
                raws = await pipe.hmget(key, chunk)
                entries = [WatchEntry.from_json(r, subscriber_id, i)
                           for i, r in zip(chunk, raws, strict=True) if r is not None]  # fmt: skip
                pipe.multi()  # type: ignore[no-untyped-call]
                self._index.replace_many([(member(subscriber_id, e.id), watch_keys(e)) for e in entries], pipe)
                pipe.incr(self._generation)  # the postings workers keep are no longer the index's

            await optimistic(self._redis, key, index)  # the API writing to this watchlist starts it again
        return len(ids)

    async def remove(self, subscriber_id: str, watch_id: str) -> bool:
        stored = await self.get(subscriber_id, watch_id)
        if stored is None:
            return False
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._entries_key(subscriber_id), watch_id)
            self._ids.change(subscriber_id, [], [watch_id], pipe)
            await self._index.replace(member(subscriber_id, watch_id), (), pipe, watch_keys(stored))
            pipe.incr(self._generation)
            await pipe.execute()
        return True

    async def count(self, subscriber_id: str) -> int:
        return await self._ids.count(subscriber_id)

    async def migrate(self, step: int = 500) -> int:
        """Every subscriber's ids moved from the sorted set written before to the chunks (streams/watch_ids.py),
        ``step`` at a time (each step atomic, so two replicas may run it at once). How many subscribers had
        ids to move."""
        moved = 0
        for subscriber_id in await self.subscribers():
            moved += await self._redis.exists(self._ids.legacy(subscriber_id))
            while await self._ids.migrate_step(subscriber_id, step):  # a hash written before ids: repaired first
                pass
        return moved

    async def exists(self, subscriber_id: str, watch_ids: Iterable[str]) -> set[str]:
        ids = list(watch_ids)
        if not ids:
            return set()
        flags = await self._redis.hmget(self._entries_key(subscriber_id), ids)
        return {i for i, raw in zip(ids, flags, strict=True) if raw is not None}

    async def page(self, subscriber_id: str, after: str | None, limit: int) -> tuple[list[WatchEntry], str | None]:
        """Entries in id order after ``after``; the cursor of the next page, or None at the end."""
        ids = await self._ids.page(subscriber_id, after, limit + 1)
        more = len(ids) > limit
        ids = ids[:limit]
        raw = await self._redis.hmget(self._entries_key(subscriber_id), ids) if ids else []
        entries = [WatchEntry.from_json(r, subscriber_id, i) for i, r in zip(ids, raw, strict=True) if r is not None]
        return entries, (ids[-1] if more and ids else None)

    async def get(self, subscriber_id: str, watch_id: str) -> WatchEntry | None:
        raw = await self._redis.hget(self._entries_key(subscriber_id), watch_id)
        return None if raw is None else WatchEntry.from_json(raw, subscriber_id, watch_id)

    async def entries(self, subscriber_id: str) -> list[WatchEntry]:
        raw = await self._redis.hgetall(self._entries_key(subscriber_id))
        return sorted((WatchEntry.from_json(v, subscriber_id, text(k)) for k, v in raw.items()), key=lambda e: e.id)

    async def candidates(self, keys: Iterable[str], limit: int = MAX_WATCH_CANDIDATES) -> list[WatchEntry]:
        """Watch entries sharing index keys with a name, those sharing the rarest keys first."""
        [found] = await self.candidates_many([[keys]], limit)
        return found

    async def candidates_many(
        self, namesets: Sequence[Sequence[Iterable[str]]], limit: int = MAX_WATCH_CANDIDATES
    ) -> list[list[WatchEntry]]:
        """``candidates`` for a batch of list entries, each given as its names' key sets (streams/match/logic.py
        ``enrichment_keysets``): ranked by the best-covered name (streams/index.py ``rank_by_name``), ties kept;
        each key and each watch entry read once for the batch, or not at all when the cache holds it."""
        # The same watches come up for change after change: their postings and entries are kept by the
        # process while no watch was written (by any process) since they were read. Reading and decoding the
        # entries alone was about as much of a change's lookup as the index.
        generation = await self._redis.get(self._generation)
        if not self._cache.current(generation):
            self._cache.start(generation)
        found = await self._index.lookup_by_name_many(namesets, limit, True, share_floor, is_identifier_key)
        entries = await self._cached({m for members in found for m in members})
        return [[entries[m] for m in members if m in entries] for members in found]

    async def _cached(self, members: set[str]) -> dict[str, WatchEntry]:
        """Watch entries by member, from the cache where it holds them, the others read and kept."""
        cache = self._cache
        fetched = await self._read_many(_pair(m) for m in sorted(members) if m not in cache.entries)
        found = {m: e for m in members if (e := cache.entries.get(m)) is not None}
        found.update(fetched)
        cache.add(fetched)
        return found

    async def thresholds(self, subscriber_ids: Iterable[str], default: float) -> dict[str, float]:
        """Each subscriber's match threshold (``default`` where none is set), in one round trip. The key of its
        own comes first; a threshold written before it had one is read from the subscriber's hash."""
        subs = sorted(set(subscriber_ids))
        if not subs:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for sub in subs:
                pipe.get(self._settings.redis_key("threshold", sub))
                pipe.hget(self._settings.redis_key("subscriber", sub), "threshold")
            values = await pipe.execute()
        out: dict[str, float] = {}
        for i, sub in enumerate(subs):
            raw = values[2 * i] if values[2 * i] is not None else values[2 * i + 1]
            out[sub] = float(raw) if raw is not None else default
        return out

    async def threshold(self, subscriber_id: str, default: float) -> float:
        return (await self.thresholds([subscriber_id], default))[subscriber_id]

    async def set_threshold(self, subscriber_id: str, value: float) -> None:
        if not 0.0 < value <= 1.0:
            raise ValueError(f"threshold must be in (0, 1], got {value}")
        await self._redis.set(self._settings.redis_key("threshold", subscriber_id), repr(value))


def member(subscriber_id: str, watch_id: str) -> str:
    return subscriber_id + _SEP + watch_id


def _pair(member_: str) -> tuple[str, str]:
    subscriber_id, watch_id = member_.split(_SEP, 1)
    return subscriber_id, watch_id


def _entries(by_subscriber: Mapping[str, list[str]], rows: Sequence[list[bytes | None]]) -> dict[str, WatchEntry]:
    """HMGET replies, one per subscriber, as entries by member; missing ones left out."""
    entries: dict[str, WatchEntry] = {}
    for (subscriber_id, ids), raws in zip(by_subscriber.items(), rows, strict=True):
        for watch_id, raw in zip(ids, raws, strict=True):
            if raw is not None:
                entries[member(subscriber_id, watch_id)] = WatchEntry.from_json(raw, subscriber_id, watch_id)
    return entries


class _WatchCache:
    """Watch entries and the watch index's postings a process has read (``index``, streams/index.py), valid
    while the store's generation is the one they were read at (``put_many``, ``remove`` and ``reindex`` count it
    up in their transactions, so any process's write is seen at the next lookup) and for ``_CACHE_MAX_AGE_S`` at
    most. Entries are frozen, so they are shared as they are."""

    def __init__(self) -> None:
        self.entries: dict[str, WatchEntry] = {}
        self.index = PostingsCache(_CACHE_MAX_POSTINGS)
        self._generation: object = object()  # matches no generation read: the first lookup starts the cache
        self._started = 0.0

    def current(self, generation: object) -> bool:
        return generation == self._generation and time.monotonic() - self._started < _CACHE_MAX_AGE_S

    def start(self, generation: object) -> None:
        self.entries = {}
        self.index.clear()
        self._generation, self._started = generation, time.monotonic()

    def add(self, entries: Mapping[str, WatchEntry]) -> None:
        if len(self.entries) + len(entries) > _CACHE_MAX_ENTRIES:
            self.entries = {}
        self.entries.update(entries)


@dataclass(frozen=True, slots=True)
class RowError:
    row: int  # 1-based line number in the file, header = 1
    reason: str


WATCHLIST_COLUMNS = ("id", "name", "alt_names", "country", "uscc", "lei", "tags")


class InvalidWatch(ValueError):
    """A watch entry's fields are not acceptable; the message says which and why."""


_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$")


def _items(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(v.strip() for v in value.split(";") if v.strip())
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return tuple(v.strip() for v in value if v.strip())
    raise InvalidWatch("must be a string (';'-separated) or a list of strings")


def watch_from_fields(fields: Mapping[str, object], subscriber_id: str) -> WatchEntry:
    """A validated watch entry from CSV cells or JSON fields: ``id`` and ``name`` required, USCC and LEI
    checked (python-stdnum), the country turned into its ISO code."""
    from stdnum import lei as stdnum_lei
    from stdnum.cn import uscc as stdnum_uscc
    from stdnum.exceptions import ValidationError

    from streams.enrich.countries import to_iso

    unknown = sorted(set(fields) - set(WATCHLIST_COLUMNS))
    if unknown:
        raise InvalidWatch(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(WATCHLIST_COLUMNS)}")
    watch_id, name = fields.get("id"), fields.get("name")
    if not isinstance(watch_id, str) or not watch_id.strip():
        raise InvalidWatch("missing id")
    watch_id = watch_id.strip()
    if not _ID_RE.match(watch_id):
        raise InvalidWatch(f"id {watch_id!r}: use 1-128 letters, digits and . _ : @ -")
    if not isinstance(name, str) or not name.strip():
        raise InvalidWatch(f"id {watch_id!r}: missing name")
    if len(name) > 500:
        raise InvalidWatch(f"id {watch_id!r}: name longer than 500 characters")
    try:
        alt_names, tags = _items(fields.get("alt_names")), _items(fields.get("tags"))
    except InvalidWatch as exc:
        raise InvalidWatch(f"id {watch_id!r}: alt_names / tags {exc}") from None
    values = {}
    for key in ("country", "uscc", "lei"):
        raw = fields.get(key)
        if raw is not None and not isinstance(raw, str):
            raise InvalidWatch(f"id {watch_id!r}: {key} must be a string")
        values[key] = raw.strip() if raw else None
    country = values["country"]
    if country:
        iso = to_iso(country)
        if iso is None:
            raise InvalidWatch(f"id {watch_id!r}: unknown country {country!r}")
        country = iso
    uscc, lei = values["uscc"], values["lei"]
    try:
        uscc = stdnum_uscc.validate(uscc) if uscc else None
    except ValidationError as exc:
        raise InvalidWatch(f"id {watch_id!r}: invalid USCC {uscc!r} ({exc})") from None
    try:
        lei = stdnum_lei.validate(lei) if lei else None
    except ValidationError as exc:
        raise InvalidWatch(f"id {watch_id!r}: invalid LEI {lei!r} ({exc})") from None
    return WatchEntry(
        subscriber_id=subscriber_id, id=watch_id, name=name.strip(), alt_names=alt_names, country=country,
        uscc=uscc, lei=lei, tags=tags,
    )  # fmt: skip


def parse_watchlist_csv(text: str, subscriber_id: str) -> tuple[list[WatchEntry], list[RowError]]:
    """The watchlist CSV: header row; ``id`` and ``name`` required; ``alt_names`` and ``tags`` are
    ``;``-separated. Bad rows are reported with their line number and reason; the rest is kept."""
    entries: list[WatchEntry] = []
    errors: list[RowError] = []
    for item in iter_watchlist_rows(text, subscriber_id):
        if isinstance(item, RowError):
            errors.append(item)
        else:
            entries.append(item[1])
    return entries, errors


def iter_watchlist_rows(text: str, subscriber_id: str) -> Iterator[tuple[int, WatchEntry] | RowError]:
    """The rows one at a time, so that a large import is written in batches, never held whole. A header
    problem is one RowError for line 1 and nothing else."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    try:
        header = [h.strip().lower() for h in reader.fieldnames or []]
    except csv.Error as exc:
        yield RowError(1, f"unreadable CSV header: {exc}")
        return
    missing = [c for c in ("id", "name") if c not in header]
    if missing:
        yield RowError(1, f"header lacks required column(s): {', '.join(missing)}")
        return
    unknown = [h for h in header if h not in WATCHLIST_COLUMNS]
    if unknown:
        yield RowError(1, f"unknown column(s): {', '.join(unknown)}; allowed: {', '.join(WATCHLIST_COLUMNS)}")
        return
    reader.fieldnames = header
    seen: set[str] = set()
    rows = iter(reader)
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:  # e.g. a bare carriage return inside a field: the rest cannot be trusted
            yield RowError(reader.line_num, f"unreadable CSV from here on: {exc}")
            return
        line = reader.line_num
        if None in row:
            yield RowError(line, "more fields than header columns")
            continue
        cells = {k: (v or "").strip() or None for k, v in row.items()}
        try:
            entry = watch_from_fields(cells, subscriber_id)
        except InvalidWatch as exc:
            yield RowError(line, str(exc))
            continue
        if entry.id in seen:
            yield RowError(line, f"duplicate id {entry.id!r}")
            continue
        seen.add(entry.id)
        yield line, entry
