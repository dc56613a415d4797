"""Reading a snapshot into comparable form, guarding it, and diffing it against the last good one.

Pure functions, but for the spool: entries are kept as canonical JSON in an EntrySpool (a temporary
file plus a 28-byte index record per key), snapshots are compared by digest, and only changed entries
are read back and decoded.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from itertools import compress, filterfalse
from operator import and_, eq, not_
from typing import Any, NamedTuple

import orjson

from contracts.models import (
    ENTRY_DEFAULTS,
    ChangeKind,
    Entry,
    FieldChange,
    Identifier,
    ListChange,
    Removal,
    build,
    canonical_json,
    change_event_id,
)
from monitor.sources.base import (
    DeltaOp,
    RawRecords,
    RecordError,
    SnapshotError,
    SnapshotFiles,
    Source,
    SourceInfo,
)
from monitor.spool import EntrySpool, digest_of


class Rejection(StrEnum):
    """Why a snapshot was refused (a bounded label set for metrics)."""

    EMPTY = "empty"
    UNPARSABLE = "unparsable"
    ERROR_RATE = "error_rate"
    SHRUNK = "shrunk"
    MISSING_FILE = "missing_file"


class SnapshotRejected(SnapshotError):
    def __init__(self, reason: Rejection, message: str, side: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        # For a pair of snapshots (read_pair): "old" or "new".
        self.side = side


@dataclass(slots=True)
class ParsedSnapshot:
    snapshot_id: str
    # Entry key -> canonical JSON of the entry, in the order the list gives them.
    entries: EntrySpool
    error_count: int = 0
    # The first few record errors, for the log line.
    errors: list[str] = field(default_factory=list)
    duplicates: int = 0
    # Fingerprints of the raw records (sources that have them, see RawRecords), saved for the next diff.
    prints: dict[str, int] | None = None
    prints_version: str | None = None

    # Keys of records that could not be read but whose key could (``carry_forward``).
    unreadable: list[str] = field(default_factory=list)
    # How many of those kept the previous snapshot's entry.
    carried: int = 0

    def count_error(self, error: RecordError) -> None:
        self.error_count += 1
        if len(self.errors) < 5:
            self.errors.append(str(error))
        if error.key is not None:
            self.unreadable.append(error.key)


@dataclass(frozen=True, slots=True)
class Previous:
    """The last good snapshot as the next read sees it: its entries, and its records' fingerprints."""

    entries: Mapping[str, bytes]
    prints: Mapping[str, int] | None = None
    prints_version: str | None = None


def encode_entry(entry: Entry) -> bytes:
    # A compact copy: keeping orjson's own output objects by the million fragmented the heap to ~4 KiB
    # per entry (bench/parse_memory.py measured 17x the file size); the copy brings it to about 2x.
    return bytes(memoryview(canonical_json(entry.content())))


def decode_entry(data: bytes) -> Entry:
    return _decoded(data)[1]


def _decoded(data: bytes) -> tuple[dict[str, Any], Entry]:
    """The entry's content as plain data (what ``Entry.content`` gives) and the Entry, from one parse."""
    content: dict[str, Any] = orjson.loads(data)
    ids = content.get("identifiers", [])
    entry = build(Entry, {**content, "identifiers": [build(Identifier, i) for i in ids]})
    return {**ENTRY_DEFAULTS, **content}, entry


_ENTRY_FIELDS: tuple[str, ...] = tuple(Entry._options.fields)


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """No cyclic garbage collection while a snapshot is read: reading makes millions of objects and no
    cycles, so each collection would walk the whole heap for nothing (a third of the time at 1M entries).
    Memory is still freed as usual, by reference counting."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def read_snapshot(
    source: Source, files: SnapshotFiles, snapshot_id: str, previous: Previous | None = None
) -> ParsedSnapshot:
    """Parse every record and apply the guards that need no history: empty, unparsable, error rate.

    For a source with raw-record fingerprints and a ``previous`` snapshot fingerprinted by the same mapper,
    only the records whose fingerprint moved are parsed; the others keep the previous snapshot's entries."""
    info = source.info
    primary = files.size(info.primary.name)
    if primary == 0 or (primary is None and not any(files.size(n) for n in files.names())):
        raise SnapshotRejected(Rejection.EMPTY, f"{info.id}: {info.primary.name} is empty")
    try:
        with paused_gc():
            if isinstance(source, RawRecords):
                parsed = _read_changed(source, files, snapshot_id, previous)
            else:
                parsed = ParsedSnapshot(snapshot_id=snapshot_id, entries=EntrySpool())
                take(parsed, encoded(source.parse(files)))
    except SnapshotRejected:
        raise
    except SnapshotError as exc:
        raise SnapshotRejected(Rejection.UNPARSABLE, f"{info.id}: {exc}") from exc
    guard(info, parsed)
    if previous is not None:
        carry_forward(parsed, previous.entries)
    return parsed


def carry_forward(parsed: ParsedSnapshot, previous: Mapping[str, bytes]) -> None:
    """Keep the previous entry of a record that is still in the file but could not be read this time: the
    publisher did not remove it, so no "removed" change (never cry wolf). The error still counts against the
    rate, and its fingerprint is dropped so that the record is read again, and counted again, next time."""
    for key in parsed.unreadable:
        if key not in parsed.entries and key in previous:
            parsed.entries.add(key, previous[key])
            parsed.carried += 1
            if parsed.prints is not None:
                parsed.prints.pop(key, None)


def first_wins(into: dict[str, int], keys: list[str], values: Iterable[int]) -> bool:
    """``into.update(zip(keys, values))``, but a key seen before keeps its first value (as the parse does).
    False when a key of ``keys`` repeats, within them or from before."""
    size = len(into)
    values = list(values)
    into.update(zip(keys, values, strict=True))
    if len(into) - size == len(keys):
        return True
    for key, value in zip(keys, values, strict=True):  # a key repeated: redo the run one by one
        into.setdefault(key, value)
    return False


def claim_in_order(
    entries: EntrySpool, keys: list[str], same: Iterable[object], locators: Iterable[int], moved: set[str]
) -> tuple[list[int], int]:
    """One run of records taken one by one, for a run where a key repeats: the first record of a key wins, as
    the full parse keeps it. An unchanged record (``same`` true) is inherited, a changed one's locator returned
    to parse (its key added to ``moved``), any later record of a key counted as a repeat. (Locators, repeats.)"""
    parse: list[int] = []
    repeats = 0
    for key, unchanged, at in zip(keys, same, locators, strict=True):
        if key in moved or key in entries:
            repeats += 1
        elif unchanged:
            entries.inherit_many((key,))
        else:
            moved.add(key)
            parse.append(at)
    return parse, repeats


def _read_changed(
    source: RawRecords, files: SnapshotFiles, snapshot_id: str, previous: Previous | None
) -> ParsedSnapshot:
    same_mapper = previous is not None and previous.prints_version == source.fingerprint_version
    old_prints = previous.prints if previous is not None and same_mapper else None
    prints: dict[str, int] = {}
    parsed = ParsedSnapshot(snapshot_id=snapshot_id, entries=EntrySpool(base=previous.entries if previous else None),
                            prints=prints, prints_version=source.fingerprint_version)  # fmt: skip
    if old_prints is None or previous is None:
        # Nothing to inherit from: the whole file is parsed, fingerprinted for the next time.
        for run in source.fingerprints(files):
            first_wins(prints, run.keys, run.prints)
        take(parsed, encoded(source.parse(files)))
        return parsed
    pending: list[int] = []
    moved: set[str] = set()
    known = previous.entries
    present = known.keys_view().__contains__ if isinstance(known, EntrySpool) else known.__contains__
    for run in source.fingerprints(files):
        no_repeats = first_wins(prints, run.keys, run.prints)
        # Inherited only when the previous snapshot has the entry: a record it could not read is read again.
        same = list(map(and_, map(eq, map(old_prints.get, run.keys), run.prints), map(present, run.keys)))
        if not no_repeats:  # the first record of a key wins, changed or not
            at, repeated = claim_in_order(parsed.entries, run.keys, same, run.locators, moved)
            pending.extend(at)
            parsed.duplicates += repeated
            continue
        _, repeated = parsed.entries.inherit_many(compress(run.keys, same))
        parsed.duplicates += repeated
        changed = list(map(not_, same))
        moved.update(compress(run.keys, changed))
        pending.extend(compress(run.locators, changed))
    take(parsed, source.encoded_at(files, pending))
    return parsed


def encoded(items: Iterable[Entry | RecordError]) -> Iterator[tuple[str, bytes] | RecordError]:
    """Each entry as (key, canonical JSON), for ``take``; record errors as they are."""
    for item in items:
        yield item if isinstance(item, RecordError) else (item.key, encode_entry(item))


def take(parsed: ParsedSnapshot, items: Iterable[tuple[str, bytes] | RecordError]) -> None:
    """Store encoded entries in the snapshot, counting record errors and repeated keys."""
    for item in items:
        if isinstance(item, RecordError):
            parsed.count_error(item)
            continue
        if not parsed.entries.add(*item):
            # Two records with one key: keep the first, count it, so the diff stays stable.
            parsed.duplicates += 1


def guard(info: SourceInfo, parsed: ParsedSnapshot) -> None:
    total = len(parsed.entries) + parsed.error_count
    if not parsed.entries:
        raise SnapshotRejected(Rejection.EMPTY, f"{info.id}: no entries parsed ({parsed.error_count} errors)")
    if parsed.error_count / total > info.max_error_rate:
        raise SnapshotRejected(
            Rejection.ERROR_RATE,
            f"{info.id}: {parsed.error_count} of {total} records unreadable "
            f"(limit {info.max_error_rate:.1%}); first: {'; '.join(parsed.errors[:2])}",
        )


def patch(
    source_id: str,
    previous: Mapping[str, bytes],
    ops: Iterable[DeltaOp | RecordError],
    snapshot_id: str,
    max_error_rate: float,
) -> ParsedSnapshot:
    """The previous snapshot with a publisher's delta operations applied in order: the same entries a full
    download of the new version would give, so the diff, the guards and the change ids stay the same."""
    changed: dict[str, bytes | None] = {}
    parsed = ParsedSnapshot(snapshot_id=snapshot_id, entries=EntrySpool())
    operations = 0
    for op in ops:
        if isinstance(op, RecordError):
            parsed.count_error(op)
            continue
        operations += 1
        changed[op.key] = None if op.entry is None else encode_entry(op.entry)
    if operations and parsed.error_count / (operations + parsed.error_count) > max_error_rate:
        raise SnapshotRejected(
            Rejection.ERROR_RATE,
            f"{source_id}: {parsed.error_count} of {operations + parsed.error_count} delta operations "
            f"unreadable; first: {'; '.join(parsed.errors[:2])}",
        )
    for key in previous:
        data = changed.pop(key) if key in changed else previous[key]
        if data is not None:
            parsed.entries.add(key, data)
    for key, data in changed.items():
        if data is not None:
            parsed.entries.add(key, data)
    if not parsed.entries:
        raise SnapshotRejected(Rejection.EMPTY, f"{source_id}: the deltas leave no entries")
    return parsed


def check_shrink(info: SourceInfo, previous_count: int, parsed: ParsedSnapshot) -> None:
    """A sharply shrunken list is far likelier a broken download than mass delistings."""
    if previous_count and len(parsed.entries) < previous_count * info.min_ratio:
        raise SnapshotRejected(
            Rejection.SHRUNK,
            f"{info.id}: {len(parsed.entries)} entries against {previous_count} before "
            f"(below {info.min_ratio:.0%}); keeping the previous snapshot",
        )


def field_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, before, after) of each top-level field that differs between two entries' contents
    (``Entry.content``); the raw record is compared key by key as ``raw.<key>``."""
    changes = [(name, old.get(name), new.get(name)) for name in _ENTRY_FIELDS
               if name != "raw" and old.get(name) != new.get(name)]  # fmt: skip
    old_raw, new_raw = old.get("raw", {}), new.get("raw", {})
    changes.extend((f"raw.{key}", old_raw.get(key), new_raw.get(key)) for key in sorted(old_raw.keys() | new_raw.keys())
                   if old_raw.get(key) != new_raw.get(key))  # fmt: skip
    return changes


def field_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[FieldChange]:
    """``field_diff`` as the records a ListChange carries."""
    return [build(FieldChange, {"field": name, "before": before, "after": after})
            for name, before, after in field_diff(old, new)]  # fmt: skip


def content_of(data: bytes) -> dict[str, Any]:
    """An entry's content (what ``Entry.content`` gives) from its canonical JSON, without building the Entry."""
    return {**ENTRY_DEFAULTS, **orjson.loads(data)}


def _change(
    source: str, key: str, kind: ChangeKind, before: bytes | None, after: bytes | None, snapshot_before: str | None,
    snapshot_after: str, observed_at: datetime, baseline: bool = False, info: SourceInfo | None = None,
) -> ListChange:  # fmt: skip
    """One change from the two entries' canonical JSON (the event id hashes those very bytes)."""
    old_content, old = _decoded(before) if before is not None else (None, None)
    new_content, new = _decoded(after) if after is not None else (None, None)
    fields = field_changes(old_content, new_content) if old_content is not None and new_content is not None else []
    cosmetic = bool(fields) and info is not None and all(f.field in info.cosmetic_fields for f in fields)
    return build(ListChange, {
        "cosmetic": cosmetic,
        "removal": _removal(old, observed_at, info) if kind is ChangeKind.REMOVED else None,
        "provisional_for": info.provisional_for if info else None,
        "list_kind": info.kind.value if info else None,
        "list_title": info.title if info else None,
        "publisher": info.publisher if info else None,
        "jurisdiction": info.jurisdiction if info else None,
        "event_id": change_event_id(source, key, kind.value, before, after),
        "source": source,
        "entry_key": key,
        "change": kind.value,
        "before": old,
        "after": new,
        "fields": fields,
        "snapshot_before": snapshot_before,
        "snapshot_after": snapshot_after,
        "observed_at": observed_at,
        "baseline": baseline,
    })  # fmt: skip


def _removal(before: Entry | None, observed_at: datetime, info: SourceInfo | None) -> str:
    if info is not None and info.provisional_for:
        return Removal.SUPERSEDED.value
    return removal(before, observed_at)


def removal(before: Entry | None, observed_at: datetime) -> str:
    """An entry whose end date had passed when its removal was seen ran out; any other was delisted."""
    end = before.end_date if before is not None else None
    if end is not None and end <= observed_at.date().isoformat():
        return Removal.EXPIRED.value
    return Removal.DELISTED.value


class RawChange(NamedTuple):
    """A change as the diff finds it: the entry's key and its canonical JSON before and after (``_change``
    makes the ListChange; ``listwatch diff`` prints its line straight from these)."""

    key: str
    kind: ChangeKind
    before: bytes | None
    after: bytes | None


def diff(
    source: str,
    previous: Mapping[str, bytes] | None,
    previous_id: str | None,
    current: ParsedSnapshot,
    observed_at: datetime,
    info: SourceInfo | None = None,
) -> Iterator[ListChange]:
    """Changes from ``previous`` to ``current``; with no previous snapshot every entry is a baseline."""
    if previous is None:
        for key, data in current.entries.items():
            yield _change(source, key, ChangeKind.ADDED, None, data, None, current.snapshot_id, observed_at,
                          baseline=True, info=info)  # fmt: skip
        return
    for raw in raw_diff(previous, current.entries):
        yield _change(source, *raw, previous_id, current.snapshot_id, observed_at, info=info)


def raw_diff(previous: Mapping[str, bytes], current: EntrySpool) -> Iterator[RawChange]:
    """``diff``'s changes from a previous snapshot, in its order: arrivals, then removals."""
    # Only the entries parsed from records whose fingerprint moved can differ (all of them, without one).
    yield from raw_arrivals(previous, current, current.own())
    yield from raw_removals(previous, filterfalse(current.keys_view().__contains__, previous))


def raw_arrivals(
    previous: Mapping[str, bytes], current: Mapping[str, bytes], keys: Iterable[str]
) -> Iterator[RawChange]:
    """The ADDED and MODIFIED changes of ``diff`` for these keys of ``current``, in their order."""
    for key in keys:
        old_digest = digest_of(previous, key)
        if old_digest is None:
            yield RawChange(key, ChangeKind.ADDED, None, current[key])
        elif old_digest != digest_of(current, key):
            yield RawChange(key, ChangeKind.MODIFIED, previous[key], current[key])


def raw_removals(previous: Mapping[str, bytes], keys: Iterable[str]) -> Iterator[RawChange]:
    """The REMOVED changes of ``diff`` for these keys of ``previous`` (those the current snapshot lacks)."""
    for key in keys:
        yield RawChange(key, ChangeKind.REMOVED, previous[key], None)
