"""Reading a snapshot into comparable form, guarding it, and diffing it against the last good one.

Pure functions, but for the spool: entries are kept as canonical JSON in an EntrySpool (a temporary
file plus a 28-byte index record per key), snapshots are compared by digest, and only changed entries
are read back and decoded.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import orjson

from contracts.models import (
    ChangeKind,
    Entry,
    FieldChange,
    Identifier,
    ListChange,
    Removal,
    canonical_json,
    change_event_id,
)
from monitor.sources.base import DeltaOp, RecordError, SnapshotError, SnapshotFiles, Source, SourceInfo
from monitor.spool import EntrySpool, digest_of


class Rejection(StrEnum):
    """Why a snapshot was refused (a bounded label set for metrics)."""

    EMPTY = "empty"
    UNPARSABLE = "unparsable"
    ERROR_RATE = "error_rate"
    SHRUNK = "shrunk"
    MISSING_FILE = "missing_file"


class SnapshotRejected(SnapshotError):
    def __init__(self, reason: Rejection, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(slots=True)
class ParsedSnapshot:
    snapshot_id: str
    # Entry key -> canonical JSON of the entry, in the order the list gives them.
    entries: EntrySpool
    error_count: int = 0
    # The first few record errors, for the log line.
    errors: list[str] = field(default_factory=list)
    duplicates: int = 0


def encode_entry(entry: Entry) -> bytes:
    # A compact copy: keeping orjson's own output objects by the million fragmented the heap to ~4 KiB
    # per entry (bench/parse_memory.py measured 17x the file size); the copy brings it to about 2x.
    return bytes(memoryview(canonical_json(entry.content())))


def decode_entry(data: bytes) -> Entry:
    raw: dict[str, Any] = orjson.loads(data)
    raw["identifiers"] = [Identifier(**i) for i in raw.get("identifiers", [])]
    return Entry(**raw)


def read_snapshot(source: Source, files: SnapshotFiles, snapshot_id: str) -> ParsedSnapshot:
    """Parse every record and apply the guards that need no history: empty, unparsable, error rate."""
    info = source.info
    primary = files.size(info.primary.name)
    if primary == 0 or (primary is None and not any(files.size(n) for n in files.names())):
        raise SnapshotRejected(Rejection.EMPTY, f"{info.id}: {info.primary.name} is empty")
    parsed = ParsedSnapshot(snapshot_id=snapshot_id, entries=EntrySpool())
    try:
        for item in source.parse(files):
            if isinstance(item, RecordError):
                parsed.error_count += 1
                if len(parsed.errors) < 5:
                    parsed.errors.append(str(item))
                continue
            if not parsed.entries.add(item.key, encode_entry(item)):
                # Two records with one key: keep the first, count it, so the diff stays stable.
                parsed.duplicates += 1
    except SnapshotRejected:
        raise
    except SnapshotError as exc:
        raise SnapshotRejected(Rejection.UNPARSABLE, f"{info.id}: {exc}") from exc
    total = len(parsed.entries) + parsed.error_count
    if not parsed.entries:
        raise SnapshotRejected(Rejection.EMPTY, f"{info.id}: no entries parsed ({parsed.error_count} errors)")
    if parsed.error_count / total > info.max_error_rate:
        raise SnapshotRejected(
            Rejection.ERROR_RATE,
            f"{info.id}: {parsed.error_count} of {total} records unreadable "
            f"(limit {info.max_error_rate:.1%}); first: {'; '.join(parsed.errors[:2])}",
        )
    return parsed


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
            parsed.error_count += 1
            if len(parsed.errors) < 5:
                parsed.errors.append(str(op))
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


def field_changes(before: Entry, after: Entry) -> list[FieldChange]:
    """Top-level fields that differ; the raw record is compared key by key as ``raw.<key>``."""
    old, new = before.content(), after.content()
    changes = [
        FieldChange(field=name, before=old.get(name), after=new.get(name))
        for name in new
        if name != "raw" and old.get(name) != new.get(name)
    ]
    old_raw, new_raw = old.get("raw", {}), new.get("raw", {})
    changes.extend(
        FieldChange(field=f"raw.{key}", before=old_raw.get(key), after=new_raw.get(key))
        for key in sorted(old_raw.keys() | new_raw.keys())
        if old_raw.get(key) != new_raw.get(key)
    )
    return changes


def _change(
    source: str, key: str, kind: ChangeKind, before: Entry | None, after: Entry | None,
    fields: list[FieldChange], snapshot_before: str | None, snapshot_after: str, observed_at: datetime,
    baseline: bool = False, info: SourceInfo | None = None,
) -> ListChange:  # fmt: skip
    cosmetic = bool(fields) and info is not None and all(f.field in info.cosmetic_fields for f in fields)
    return ListChange(
        cosmetic=cosmetic,
        removal=_removal(before, observed_at, info) if kind is ChangeKind.REMOVED else None,
        provisional_for=info.provisional_for if info else None,
        list_kind=info.kind.value if info else None,
        list_title=info.title if info else None,
        publisher=info.publisher if info else None,
        jurisdiction=info.jurisdiction if info else None,
        event_id=change_event_id(source, key, kind.value, before, after),
        source=source,
        entry_key=key,
        change=kind.value,
        before=before,
        after=after,
        fields=fields,
        snapshot_before=snapshot_before,
        snapshot_after=snapshot_after,
        observed_at=observed_at,
        baseline=baseline,
    )


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
            yield _change(source, key, ChangeKind.ADDED, None, decode_entry(data), [], None,
                          current.snapshot_id, observed_at, baseline=True, info=info)  # fmt: skip
        return
    for key in current.entries:
        old_digest = digest_of(previous, key)
        if old_digest is None:
            yield _change(source, key, ChangeKind.ADDED, None, decode_entry(current.entries[key]), [],
                          previous_id, current.snapshot_id, observed_at, info=info)  # fmt: skip
        elif old_digest != current.entries.digest(key):
            before, after = decode_entry(previous[key]), decode_entry(current.entries[key])
            yield _change(source, key, ChangeKind.MODIFIED, before, after, field_changes(before, after),
                          previous_id, current.snapshot_id, observed_at, info=info)  # fmt: skip
    for key in previous:
        if key not in current.entries:
            yield _change(source, key, ChangeKind.REMOVED, decode_entry(previous[key]), None, [], previous_id,
                          current.snapshot_id, observed_at, info=info)  # fmt: skip
