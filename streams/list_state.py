"""The current state of every list, materialised from the changes stream (baselines included), with an
index over its entries so that a newly watched company can be screened at once.

Layout under the namespace: ``list:{source}`` hash, entry key -> ListedEntry JSON, compressed with the list's
trained dictionary (``zdict:{source}``, streams/zdicts.py) once it has one, with a preset deflate before;
``list:{source}:changed`` hash, entry key -> when its last non-baseline change was observed (ms);
``lidx:*`` the index (streams/index.py) with members ``{source}<US>{entry key}``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import faust
import zstandard as zstd
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

from contracts import codec
from contracts.clients import optimistic, text
from contracts.models import EnrichedChange, Enrichment, Entry, ListChange, build
from contracts.settings import CommonSettings
from streams.enrich.change import enrich_entries
from streams.enrich.names import name_form
from streams.index import MAX_CANDIDATES, RedisIndex
from streams.match.keys import name_keys
from streams.match.logic import KeysetCache, enrichment_keys
from streams.zdicts import Dictionaries

_SEP = "\x1f"
# How long an entry's "changed at" stamp is kept: far longer than any baseline takes to stream through.
_CHANGED_TTL_S = 30 * 86400


class ListedEntry(faust.Record, serializer="json"):
    """What is kept of a list entry: the entry, its enrichment, and the change that last set it."""

    source: str
    entry: Entry
    enrichment: Enrichment
    event_id: str


@dataclass(frozen=True, slots=True)
class PreparedWrite:
    """A batch's list-state write, prepared (``ListStateStore.prepare``): per entry, the change its last
    event makes, the value to store (None: removed) with its index keys, and the keys it is indexed under
    now; and how many entries each list writes."""

    batch: Sequence[EnrichedChange]
    last: dict[str, EnrichedChange]
    prepared: dict[str, tuple[bytes | None, set[str]]]
    indexed: dict[str, set[str]]
    written: dict[str, int]


class ListStateStore:
    def __init__(self, redis: Redis, settings: CommonSettings, dictionaries: Dictionaries | None = None) -> None:
        self._redis = redis
        self._settings = settings
        self._index = RedisIndex(redis, settings, "lidx")
        self._dicts = dictionaries or Dictionaries(redis, settings)

    def _hash(self, source: str) -> str:
        return self._settings.redis_key("list", source)

    def _changed(self, source: str) -> str:
        return self._settings.redis_key("list", source, "changed")

    async def apply(self, enriched: EnrichedChange) -> bool:
        """Make the stored list reflect the change: removed entries go, others are (re)indexed. False when
        it is a baseline's entry a later change already overtook (see ``apply_many``)."""
        return bool(await self.apply_many([enriched]))

    async def apply_many(
        self, batch: Sequence[EnrichedChange], keysets: KeysetCache | None = None
    ) -> list[EnrichedChange]:
        """``apply`` for a batch, in order, in one transaction: the index is read once for the batch's entries
        and set to what the last change of each entry says. Returns the changes applied.

        Baselines run in a lane of their own (streams/lane.py), so a change of the next snapshot may
        be applied before the baseline's event of the same entry. Every other change stamps its entry with when
        it was observed (``list:{source}:changed``), and a baseline event older than its entry's stamp is
        stale: not applied (nor alerted). Stamps are read under WATCH, so a change landing between the read
        and the write makes the baseline's transaction start again. ``keysets``: the batch's cache of index
        keys, shared with the watch lookup."""
        return await self.write(await self.prepare(batch, keysets))

    async def prepare(self, batch: Sequence[EnrichedChange], keysets: KeysetCache | None = None) -> PreparedWrite:
        """``apply_many``'s first half: what to write, encoded, and the keys the entries are indexed under now
        (read from Redis). ``write`` does the rest; a caller may do other work between the two, but must not
        write these entries meanwhile (a change in between costs a vacuum, see ``_indexed``)."""
        last: dict[str, EnrichedChange] = {}
        for enriched in batch:
            last[enriched.change.source + _SEP + enriched.change.entry_key] = enriched
        written: dict[str, int] = {}
        for enriched in last.values():
            written[enriched.change.source] = written.get(enriched.change.source, 0) + 1
        await self._dicts.before_writing(written)
        keysets = keysets or KeysetCache()
        prepared = {member: self._prepare(enriched, keysets) for member, enriched in last.items()}
        return PreparedWrite(batch, last, prepared, await self._indexed(last, prepared), written)

    async def write(self, pending: PreparedWrite) -> list[EnrichedChange]:
        """``apply_many``'s second half: the transaction. Returns the changes applied."""
        applied = await self._write(pending.batch, pending.last, pending.prepared, pending.indexed)
        await self._dicts.train_due(pending.written, self._hash, training_json)
        return applied

    async def _indexed(
        self, last: dict[str, EnrichedChange], prepared: dict[str, tuple[bytes | None, set[str]]]
    ) -> dict[str, set[str]]:
        """The keys these entries are indexed under now: their stored entries' (the index keeps only a digest of
        them); an entry stored as it is about to be written again has its new keys, and is not read. Read before
        the transaction: a change written meanwhile makes the index give the entry a new id (streams/index.py),
        so that costs a vacuum, never a wrong posting."""
        stored = await self._read_raw((e.change.source, e.change.entry_key) for e in last.values())
        was: dict[str, set[str]] = {}
        for (source, key), raw in stored.items():
            member = source + _SEP + key
            value, keys = prepared[member]
            if raw != value:
                keys = set(enrichment_keys(decode(raw, self._dicts.reader(source)).enrichment))
            was[member] = keys
        return was

    async def _write(
        self,
        batch: Sequence[EnrichedChange],
        last: dict[str, EnrichedChange],
        prepared: dict[str, tuple[bytes | None, set[str]]],
        was: dict[str, set[str]],
    ) -> list[EnrichedChange]:
        baseline = [e for e in last.values() if e.change.baseline]
        async with self._redis.pipeline(transaction=True) as pipe:
            if not baseline:
                self._queue(pipe, last, prepared, was)
                await pipe.execute()
                return list(batch)
            watched = sorted({self._changed(e.change.source) for e in baseline})
            while True:
                try:
                    await pipe.watch(*watched)
                    stale = await self._stale(pipe, baseline)
                    pipe.multi()  # type: ignore[no-untyped-call]
                    self._queue(pipe, {m: e for m, e in last.items() if m not in stale}, prepared, was)
                    await pipe.execute()
                    break
                except WatchError:
                    await pipe.reset()  # type: ignore[no-untyped-call]
        return [e for e in batch if e.change.source + _SEP + e.change.entry_key not in stale]

    def _prepare(self, enriched: EnrichedChange, keysets: KeysetCache) -> tuple[bytes | None, set[str]]:
        """What to store for the entry (None: it goes) and the keys to index it under."""
        change = enriched.change
        if change.change == "removed" or change.after is None:
            return None, set()
        # Indexed as the entry now stands: a renamed entry must not match its old name any more. An
        # addition (every baseline entry) was enriched from its after-entry alone already.
        current = (
            enriched.enrichment
            if change.before is None
            else enrich_entries([change.after], change.list_kind, change.publisher, change.jurisdiction)
        )
        writer = self._dicts.writer(change.source)
        return _stored(change.source, change.after, current, change.event_id, writer, keysets(current))

    async def _stale(self, pipe: Pipeline, baseline: Sequence[EnrichedChange]) -> set[str]:
        """The baseline events' members that a later change of their entry overtook."""
        by_source: dict[str, list[EnrichedChange]] = {}
        for enriched in baseline:
            by_source.setdefault(enriched.change.source, []).append(enriched)
        stale: set[str] = set()
        for source, events in by_source.items():
            stamps = await pipe.hmget(self._changed(source), [e.change.entry_key for e in events])
            for enriched, stamp in zip(events, stamps, strict=True):
                if stamp is not None and int(stamp) > _millis(enriched.change.observed_at):
                    stale.add(source + _SEP + enriched.change.entry_key)
        return stale

    def _queue(
        self,
        pipe: Pipeline,
        last: dict[str, EnrichedChange],
        prepared: dict[str, tuple[bytes | None, set[str]]],
        was: dict[str, set[str]],
    ) -> None:
        gone: dict[str, list[str]] = {}
        kept: dict[str, dict[str, bytes]] = {}
        stamps: dict[str, dict[str, int]] = {}
        updates: list[tuple[str, set[str]]] = []
        for member, enriched in last.items():
            change = enriched.change
            listed, keys = prepared[member]
            if listed is None:
                gone.setdefault(change.source, []).append(change.entry_key)
            else:
                kept.setdefault(change.source, {})[change.entry_key] = listed
            if not change.baseline:
                stamps.setdefault(change.source, {})[change.entry_key] = _millis(change.observed_at)
            updates.append((member, keys))
        for source, entry_keys in gone.items():
            pipe.hdel(self._hash(source), *entry_keys)
        for source, mapping in kept.items():
            pipe.hset(self._hash(source), mapping=mapping)  # type: ignore[arg-type]
        for source, when in stamps.items():
            pipe.hset(self._changed(source), mapping=when)  # type: ignore[arg-type]
            pipe.expire(self._changed(source), _CHANGED_TTL_S)
        self._index.replace_many(updates, pipe, was)

    async def sources(self) -> list[str]:
        """The lists held (each a hash ``list:{source}``)."""
        prefix = self._settings.redis_key("list", "")
        found = set()
        async for key in self._redis.scan_iter(match=prefix + "*", count=1000):
            rest = text(key)[len(prefix) :]
            if rest and ":" not in rest:
                found.add(rest)
        return sorted(found)

    async def reindex(self, source: str, page: int = 500) -> tuple[int, int]:
        """Enrich and index every stored entry of ``source`` again with the code running now. An entry is
        enriched when its change arrives, so after a change to name folding or index keys the stored ones keep
        the old forms (and keys) until their next change; this brings them up to date at once. A page of
        entries at a time, under WATCH: a page a worker writes to meanwhile starts again. (entries, rewritten)"""
        key = self._hash(source)
        # a list that holds enough entries and has no dictionary yet gets one first: the pages are then
        # written with it (the upgrade path for entries stored before dictionaries)
        await self._dicts.before_writing({source: 0})
        await self._dicts.train_due([source], self._hash, training_json)
        total = rewritten = 0
        cursor = 0
        while True:
            cursor, found = await self._redis.hscan(key, cursor, count=page)
            fields = sorted(text(f) for f in found)
            if fields:
                total += len(fields)
                rewritten += await self._reindex_page(source, fields)
            if cursor == 0:
                return total, rewritten

    async def _reindex_page(self, source: str, fields: list[str]) -> int:
        key = self._hash(source)
        writer = self._dicts.writer(source)

        async def page(pipe: Pipeline) -> int:
            raws = await pipe.hmget(key, fields)
            await self._dicts.need(_numbers(source, raws))
            values: dict[str, bytes] = {}
            updates: list[tuple[str, set[str]]] = []
            indexed: dict[str, set[str]] = {}
            for field, raw in zip(fields, raws, strict=True):
                if raw is None:
                    continue  # removed since the scan
                listed = decode(raw, self._dicts.reader(source))
                was = listed.enrichment
                indexed[source + _SEP + field] = set(enrichment_keys(was))
                now = enrich_entries([listed.entry], was.list_kind, was.authority, was.jurisdiction)
                # written again with the list's dictionary when it has one (entries stored before it was trained)
                value, keys = _stored(source, listed.entry, now, listed.event_id, writer)
                if value != raw:
                    values[field] = value
                updates.append((source + _SEP + field, keys))
            pipe.multi()  # type: ignore[no-untyped-call]
            if values:
                pipe.hset(key, mapping=values)  # type: ignore[arg-type]
            self._index.replace_many(updates, pipe, indexed)
            return len(values)

        # A worker writing to the list meanwhile (a baseline writes every few ms) makes the page start again.
        return await optimistic(self._redis, key, page)

    async def orphans(self) -> int:
        """Entries re-indexed since the last vacuum whose previous postings were left behind."""
        return await self._index.orphans()

    async def vacuum(self) -> int:
        """Remove the index's postings left by entries whose keys it could not find (``RedisIndex.vacuum``)."""
        return await self._index.vacuum()

    async def get(self, source: str, entry_key: str) -> ListedEntry | None:
        raw = await self._redis.hget(self._hash(source), entry_key)
        if raw is None:
            return None
        await self._dicts.need(_numbers(source, [raw]))
        return decode(raw, self._dicts.reader(source))

    async def same_name_many(self, changes: Sequence[ListChange]) -> list[list[Entry]]:
        """For each change, the other entries of its list indexed under every key of its entry's name: among
        them all those under the same name (a party listed twice), usually none. Only those are read. Its word
        keys (``t:``) are enough to ask for: an entry under the same name is under all its keys, and the
        caller compares the names; each key asked costs Redis a lookup or two per change."""
        keysets = [_word_keys(name_keys(name_form(c.current.name))) for c in changes]
        found = await self._index.all_of_many(keysets)
        wanted = [
            [(source, key) for source, key in (m.split(_SEP, 1) for m in members)
             if source == c.source and key != c.entry_key]
            for c, members in zip(changes, found, strict=True)
        ]  # fmt: skip
        read = await self._read_many({at for pairs in wanted for at in pairs})
        return [[read[at].entry for at in pairs if at in read] for pairs in wanted]

    async def _read_many(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], ListedEntry]:
        """Stored entries by (list, key): one HMGET per list, in one round trip; missing ones left out."""
        raws = await self._read_raw(wanted)
        return {(source, key): decode(raw, self._dicts.reader(source)) for (source, key), raw in raws.items()}

    async def _read_raw(self, wanted: Iterable[tuple[str, str]]) -> dict[tuple[str, str], bytes]:
        """``_read_many`` as stored (the dictionaries they name loaded)."""
        by_source: dict[str, list[str]] = {}
        for source, entry_key in sorted(set(wanted)):
            by_source.setdefault(source, []).append(entry_key)
        if not by_source:
            return {}
        pipe = self._redis.pipeline(transaction=False)
        for source, entry_keys in by_source.items():
            pipe.hmget(self._hash(source), entry_keys)
        found = list(zip(by_source.items(), await pipe.execute(), strict=True))
        await self._dicts.need(n for (source, _), values in found for n in _numbers(source, values))
        out: dict[tuple[str, str], bytes] = {}
        for (source, entry_keys), values in found:
            for entry_key, value in zip(entry_keys, values, strict=True):
                if value is not None:
                    out[(source, entry_key)] = value
        return out

    async def candidates(self, keys: Iterable[str], limit: int = MAX_CANDIDATES) -> list[ListedEntry]:
        """The entries these index keys point to, in the index's order: one HMGET per list, one round trip."""
        found = [text.split(_SEP, 1) for text in await self._index.lookup(keys, limit)]
        read = await self._read_many((source, key) for source, key in found)
        return [read[(s, k)] for s, k in found if (s, k) in read]


def _stored(
    source: str, entry: Entry, enrichment: Enrichment, event_id: str, writer: tuple[int, zstd.ZstdCompressor] | None,
    keysets: list[set[str]] | None = None,
) -> tuple[bytes, set[str]]:  # fmt: skip
    """What the list state keeps of an entry, and the keys it is indexed under (one definition for a change
    applied and for ``reindex``); ``keysets``: the enrichment's, when already worked out."""
    listed = build(ListedEntry, {"source": source, "entry": entry, "enrichment": enrichment, "event_id": event_id})
    keys = set[str]().union(*keysets) if keysets is not None else enrichment_keys(enrichment)
    return encode(listed, writer), keys


def _word_keys(keys: set[str]) -> set[str]:
    return {k for k in keys if k.startswith("t:")} or keys


def _numbers(source: str, values: Iterable[bytes | str | None]) -> list[tuple[str, int]]:
    """The dictionaries that these stored values of ``source`` were written with."""
    return [(source, int.from_bytes(v[1:3], "big")) for v in values if isinstance(v, bytes) and v[:1] == _V2]


def _millis(when: datetime) -> int:
    return int(when.timestamp() * 1000)


# A preset dictionary for compressing one entry (deflate looks back into it as into text already seen): the
# structure every stored entry repeats, its field names and frequent values. An entry alone is too short for
# deflate to learn them: real OFAC entries take 421 bytes with it instead of 603. Frozen: a stored entry can
# only be read with the dictionary it was written with, so a new one would be _V2 beside this one.
_ZDICT_V1 = (
    b'"individual","vessel","aircraft","debarment","export_control","red","cjk","other",'
    b'"listed_on":null,"end_date":null,"remarks":null,"source_url":"https://www.","raw":{},"addresses":[],'
    b'"programs":[],{"scheme":"","value":""}],'
    b'{"source":"","entry":{"key":"","name":"","aliases":[],"entity_type":"entity","identifiers":[],'
    b'"countries":[],"addresses":[],"programs":[],"listed_on":null,"end_date":null,"remarks":null,'
    b'"source_url":"https://","raw":{}},"enrichment":{"names":[{"original":"","normalised":"","core":"",'
    b'"script":"latin","ascii":""},{"original":"","normalised":"","core":"","script":"latin","ascii":""}],'
    b'"identifiers":[],"countries":[],"list_kind":"sanction","list_colour":"black","jurisdiction":"",'
    b'"authority":"","entity_type":"entity","errors":[]},"event_id":""}'
)
_V1 = b"\x01"  # raw deflate with _ZDICT_V1 follows (plain JSON starts with "{", a zlib stream with "x")
_V2 = b"\x02"  # the number of the list's dictionary (2 bytes) and a zstd frame follow


def encode(listed: ListedEntry, writer: tuple[int, zstd.ZstdCompressor] | None = None) -> bytes:
    """Stored compressed: with the list's trained dictionary when it has one (``writer``: its number and
    compressor, streams/zdicts.py), else deflate at its fastest level with a preset dictionary. The JSON of an
    entry and its enrichment (every name in four forms) shrinks about sixfold, or threefold. Written by
    contracts.codec, without faust's type tags (faust's own writer was a tenth of a baseline's time)."""
    data = codec.dumps(listed)
    if writer is not None:
        number, compressor = writer
        return _V2 + number.to_bytes(2, "big") + compressor.compress(data)
    deflate = zlib.compressobj(1, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, _ZDICT_V1)
    return _V1 + deflate.compress(data) + deflate.flush()


def decode(raw: bytes | str, reader: Callable[[int], zstd.ZstdDecompressor] | None = None) -> ListedEntry:
    """What ``encode`` wrote (``reader``: the list's decompressor by dictionary number, for entries written
    with one), or what earlier versions stored: zlib without a dictionary, plain JSON, with or without
    faust's type tags (an upgrade reads what is there)."""
    return codec.loads(ListedEntry, _plain(raw, reader))


def training_json(raw: bytes) -> bytes | None:
    """A stored entry's JSON to train a dictionary on; None for one already written with a dictionary."""
    return None if raw[:1] == _V2 else _plain(raw)


def _plain(raw: bytes | str, reader: Callable[[int], zstd.ZstdDecompressor] | None = None) -> bytes:
    """A stored entry's JSON."""
    data = raw.encode() if isinstance(raw, str) else raw
    if data[:1] == _V2:
        if reader is None:
            raise ValueError("an entry written with its list's dictionary, read without the list's dictionaries")
        return reader(int.from_bytes(data[1:3], "big")).decompress(data[3:])
    if data[:1] == _V1:
        inflate = zlib.decompressobj(-15, _ZDICT_V1)
        return inflate.decompress(data[1:]) + inflate.flush()
    if data[:1] != b"{":
        return zlib.decompress(data)
    return data
