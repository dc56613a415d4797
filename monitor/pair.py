"""Two snapshots on disk read for ``listwatch diff``, guarded as the monitor guards them.

With raw-record fingerprints (``RawRecords``) neither file is parsed in full: both are fingerprinted, the old
one keeps only the entries the diff reads (records that changed or left), the new one parses only the records
that changed. With ``workers=2`` the old snapshot's half (its fingerprints, then the parse of its records the
diff needs) runs in a forked process beside the new one's: the two halves are alike in cost and
share nothing but the list of records to read. ``diff_output`` (the ``listwatch diff`` command) also has that
process render the removals (it holds their entries) and part of the other changes while this one renders
the rest. Results are the same either way (tests/monitor/test_pair.py); bench/diff_speed.py measures both.
"""

from __future__ import annotations

import multiprocessing
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from itertools import chain, compress, filterfalse, repeat
from multiprocessing.connection import Connection
from operator import eq, not_
from types import TracebackType
from typing import Any, TypeVar

from monitor.diff import (
    ParsedSnapshot,
    RawChange,
    Rejection,
    SnapshotRejected,
    carry_forward,
    check_shrink,
    claim_in_order,
    first_wins,
    guard,
    paused_gc,
    raw_arrivals,
    raw_diff,
    raw_removals,
    read_snapshot,
    take,
)
from monitor.snapshot import DiskSnapshot
from monitor.sources.base import RawRecords, RecordError, SnapshotError, Source
from monitor.spool import EntrySpool

_T = TypeVar("_T")
# One run of fingerprints: keys, fingerprints, offsets (arrays: cheap to hold and to send between processes).
_Run = tuple[list[str], "array[int]", "array[int]"]


def read_pair(
    source: Source,
    old: DiskSnapshot,
    new: DiskSnapshot,
    ids: tuple[str, str],
    *,
    workers: int = 1,
) -> tuple[ParsedSnapshot, ParsedSnapshot]:
    """The two snapshots (named ``ids``), the new one refused if it is unusable or has shrunk. A
    SnapshotRejected says which side failed in its ``side``."""
    with paused_gc():
        if not isinstance(source, RawRecords):
            before = _side("old", read_snapshot, source, old, ids[0])
            after = _side("new", read_snapshot, source, new, ids[1])
            _side("new", check_shrink, source.info, len(before.entries), after)
            carry_forward(after, before.entries)
            return before, after
        if workers > 1:
            return _read_forked(source, old, new, ids)
        return _read_here(source, old, new, ids)


def _read_here(
    source: RawRecords, old: DiskSnapshot, new: DiskSnapshot, ids: tuple[str, str]
) -> tuple[ParsedSnapshot, ParsedSnapshot]:
    old_runs: list[_Run] = _side("old", list, _runs(source, old))
    old_prints = _side("old", _by_key, old_runs, source.info.id)
    after = ParsedSnapshot(snapshot_id=ids[1], entries=EntrySpool(base=_Unread()))
    try:
        def flagged() -> Iterator[tuple[_Run, list[bool]]]:
            return ((run, _same(old_prints, run[0], run[1])) for run in _runs(source, new))

        new_at = _inherit(after, flagged(), again=flagged)
    except SnapshotError as exc:
        raise SnapshotRejected(Rejection.UNPARSABLE, f"{source.info.id}: {exc}", "new") from exc
    # Every old record not inherited unchanged is read: it changed or left.
    old_keys = old_prints.keys() - after.entries.keys_view()
    before = ParsedSnapshot(snapshot_id=ids[0], entries=EntrySpool())
    _side("old", take, before, source.encoded_at(old, _offsets(old_runs, old_keys)))
    _side("new", take, after, source.encoded_at(new, new_at))
    return before, _guarded(source, before, after, len(old_prints))


def diff_output(
    source: Source,
    old: DiskSnapshot,
    new: DiskSnapshot,
    ids: tuple[str, str],
    render: Callable[[RawChange], bytes],
    *,
    workers: int = 1,
) -> Iterator[bytes]:
    """``render`` of each change from ``old`` to ``new`` (``raw_diff`` of ``read_pair``'s snapshots, in
    ``diff``'s order), in chunks to write. With ``workers=2`` the old side's process renders the second half of
    the additions and modifications and the removals (last in ``diff``'s order) while this one renders the
    first."""
    if workers < 2 or not isinstance(source, RawRecords):
        before, after = read_pair(source, old, new, ids, workers=workers)
        yield from map(render, raw_diff(before.entries, after.entries))
        return
    with _OldSide(source, old, render) as old_side:
        with paused_gc():
            before, after = _read_with(old_side, source, new, ids)
        own = list(after.entries.own())
        # The keys ``diff`` takes as removed, in its order; the old side holds their entries.
        gone = list(filterfalse(after.entries.keys_view().__contains__, before.entries))
        cut = _half(own, before.entries, len(gone))
        old_side.render_rest([(key, after.entries[key]) for key in own[cut:]], gone)
        yield from map(render, raw_arrivals(before.entries, after.entries, own[:cut]))
        yield old_side.rendered()


def _half(own: list[str], previous: Mapping[str, bytes], removed: int) -> int:
    """Where this process's half of the rendering ends in ``own`` (the old side renders the rest and the
    removals): a modification, two entries decoded and compared, counts twice."""
    weights = [2 if key in previous else 1 for key in own]
    half = (sum(weights) + removed) / 2
    done = 0
    for at, weight in enumerate(weights):
        if done >= half:
            return at
        done += weight
    return len(own)


def _read_forked(
    source: RawRecords, old: DiskSnapshot, new: DiskSnapshot, ids: tuple[str, str]
) -> tuple[ParsedSnapshot, ParsedSnapshot]:
    with _OldSide(source, old) as old_side:
        return _read_with(old_side, source, new, ids)


def _read_with(
    old_side: _OldSide, source: RawRecords, new: DiskSnapshot, ids: tuple[str, str]
) -> tuple[ParsedSnapshot, ParsedSnapshot]:
    failed: SnapshotError | None = None
    try:
        runs = list(_runs(source, new))
    except SnapshotError as exc:  # the old side's own failure, if any, is reported first, as read_here does
        runs, failed = [], exc
    # Built while the old side may still be reading its file: the message, and every key taken as unchanged
    # (the flags then only take the few that moved out again), unless a key repeats.
    message = _new_side_message(runs) if failed is None else None
    assumed = EntrySpool(base=_Unread())
    unique = assumed.assume_inherited(key for run in runs for key in run[0]) == sum(len(run[0]) for run in runs)
    old_count = old_side.ready()
    if failed is not None or message is None:
        raise SnapshotRejected(Rejection.UNPARSABLE, f"{source.info.id}: {failed}", "new") from failed
    # The old side compares (it holds the old fingerprints) run by run, this side takes each run's unchanged
    # records as they are flagged; then each side parses its moved records.
    old_side.compare(message)
    flagged = ((run, old_side.flags()) for run in runs)
    if unique:
        after = ParsedSnapshot(snapshot_id=ids[1], entries=assumed)
        new_at = _take_out_moved(assumed, flagged)
    else:  # a key repeats: ``_inherit`` takes the first record of each
        assumed.close()
        del assumed
        after = ParsedSnapshot(snapshot_id=ids[1], entries=EntrySpool(base=_Unread()))
        new_at = _inherit(after, flagged)
    del runs, message
    _side("new", take, after, source.encoded_at(new, new_at))
    before = ParsedSnapshot(snapshot_id=ids[0], entries=EntrySpool())
    _side("old", take, before, old_side.entries())
    return before, _guarded(source, before, after, old_count)


def _runs(source: RawRecords, files: DiskSnapshot) -> Iterator[_Run]:
    for run in source.fingerprints(files):
        yield run.keys, array("Q", run.prints), array("Q", run.locators)


def _by_key(runs: Iterable[_Run], source_id: str) -> dict[str, int]:
    """Each key's fingerprint (the first record of a key wins, as the parse keeps the first)."""
    prints: dict[str, int] = {}
    for keys, run_prints, _ in runs:
        first_wins(prints, keys, run_prints)
    if not prints:
        raise SnapshotRejected(Rejection.EMPTY, f"{source_id}: no records")
    return prints


def _offsets(runs: Iterable[_Run], wanted: Iterable[str]) -> list[int]:
    """Where the first record of each wanted key starts: one C-level membership pass over the keys."""
    pending = set(wanted)
    found: list[int] = []
    for keys, _, locators in runs:
        for key, at in compress(zip(keys, locators, strict=True), map(pending.__contains__, keys)):
            if key in pending:
                pending.discard(key)
                found.append(at)
    return found


def _same(old_prints: Mapping[str, int], keys: list[str], prints: Iterable[int]) -> list[bool]:
    """For each record, whether the old snapshot has its key with the same fingerprint."""
    return list(map(eq, map(old_prints.get, keys), prints))


_Flagged = Iterable[tuple[_Run, Sequence[int] | Sequence[bool]]]


def _inherit(
    after: ParsedSnapshot, flagged: _Flagged, again: Callable[[], _Flagged] | None = None
) -> list[int]:
    """Take the unchanged records (flagged true) as inherited, unread; the offsets of the others to parse
    (records that changed or arrived; a key already seen is a duplicate, as the parse counts it). The first
    record of a key wins, as the full parse keeps it: when a key repeats, the runs are taken again one record
    at a time (the fast pass would keep a later unchanged record over an earlier changed one). The runs are
    read ``again`` for that when given, else kept from the first pass."""
    new_at: list[int] = []
    moved: set[str] = set()
    taken: list[tuple[_Run, Sequence[int] | Sequence[bool]]] = []
    for (keys, prints, locators), same in flagged:
        if again is None:
            taken.append(((keys, prints, locators), same))
        repeated = after.entries.inherit_many(compress(keys, same))[1]
        after.duplicates += repeated
        changed = list(map(not_, same))
        for key, at in zip(compress(keys, changed), compress(locators, changed), strict=True):
            if key in moved or key in after.entries:
                after.duplicates += 1
                continue
            moved.add(key)
            new_at.append(at)
    if not after.duplicates and moved.isdisjoint(after.entries.keys_view()):
        return new_at
    after.entries, after.duplicates = EntrySpool(base=_Unread()), 0
    new_at, moved = [], set()
    for (keys, _, locators), same in taken if again is None else again():
        offsets, repeated = claim_in_order(after.entries, keys, same, locators, moved)
        new_at += offsets
        after.duplicates += repeated
    return new_at


def _take_out_moved(entries: EntrySpool, flagged: _Flagged) -> list[int]:
    """``_inherit`` for a snapshot whose keys are all distinct and were all taken as inherited beforehand
    (``EntrySpool.assume_inherited``): the records not flagged unchanged are taken out again; their offsets,
    to parse."""
    new_at: list[int] = []
    for (keys, _, locators), same in flagged:
        moved = list(map(not_, same))
        entries.disown(compress(keys, moved))
        new_at += compress(locators, moved)
    return new_at


def _guarded(source: Source, before: ParsedSnapshot, after: ParsedSnapshot, old_count: int) -> ParsedSnapshot:
    _side("new", guard, source.info, after)
    _side("new", check_shrink, source.info, old_count, after)
    carry_forward(after, before.entries)
    return after


# What the old side renders changes with (``diff_output``); inherited by the fork, never pickled.
_Render = Callable[[RawChange], bytes]


class _OldSide:
    """The old snapshot's half of ``read_pair`` in a forked process: it fingerprints the old snapshot, flags
    the new records sent to it, then parses the old records the diff reads (and, given ``render``, renders
    the changes it is then sent). A rejection there is raised here, marked "old"; a reader that dies says so
    instead of hanging."""

    def __init__(self, source: RawRecords, files: DiskSnapshot, render: _Render | None = None) -> None:
        self._source_id = source.info.id
        context = multiprocessing.get_context("fork")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_old_side, args=(source, files, child, render), name="listwatch-diff-old", daemon=True
        )
        self._process.start()
        child.close()

    def __enter__(self) -> _OldSide:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self._process.is_alive():
            self._process.terminate()
        self._process.join()
        self._conn.close()

    def ready(self) -> int:
        """The old snapshot's record count, once it is fingerprinted (or its rejection)."""
        count: int = self._receive("ready")[0]
        return count

    def compare(self, message: tuple[Any, ...]) -> None:
        """Send the new records' keys and fingerprints (``_new_side_message``)."""
        self._conn.send(message)

    def flags(self) -> bytes:
        """The next run's flags, one byte per record: 1 when the old snapshot has its key with the same
        fingerprint."""
        flags: bytes = self._receive("same")[0]
        return flags

    def entries(self) -> list[tuple[str, bytes] | RecordError]:
        items: list[tuple[str, bytes] | RecordError] = self._receive("entries")[0]
        return items

    def render_rest(self, arrived: list[tuple[str, bytes]], gone: list[str]) -> None:
        """Send the new entries whose changes the old side renders and the keys of the old entries that
        ``diff`` takes as removed, each in ``diff``'s order."""
        self._conn.send(("rest", arrived, gone))

    def rendered(self) -> bytes:
        rendered: bytes = self._receive("rendered")[0]
        return rendered

    def _receive(self, kind: str) -> Any:
        try:
            message = self._conn.recv()
        except EOFError:
            self._process.join()
            raise RuntimeError(f"{self._source_id}: the old snapshot's reader stopped "
                               f"(exit code {self._process.exitcode})") from None  # fmt: skip
        if message[0] == "rejected":
            raise SnapshotRejected(Rejection(message[1]), message[2], "old")
        if message[0] == "failed":
            raise message[1]
        if message[0] != kind:
            raise RuntimeError(f"{self._source_id}: the old snapshot's reader sent {message[0]!r}, not {kind!r}")
        return message[1:]


def _old_side(source: RawRecords, files: DiskSnapshot, conn: Connection, render: _Render | None) -> None:
    """The forked process: fingerprint the old snapshot (kept here, never sent), flag each record the parent
    sends as unchanged or not, run by run, then parse the old records that changed or left (and render the
    changes the parent names)."""
    try:
        runs = list(_runs(source, files))
        old_prints = _by_key(runs, source.info.id)
        conn.send(("ready", len(old_prints)))
        message = conn.recv()
        keys = message[1].split("\n") if message[0] == "joined" else message[1]
        prints, lengths = message[2], message[3]
        start = 0
        # Every old record not inherited unchanged is read: it changed or left. Each key of the new snapshot is
        # popped from the fingerprints as it is compared (one dict operation, not a lookup and a pop): what
        # stays are the keys that left, ``changed`` the ones whose record moved. A later record of a popped key
        # is flagged changed: the parent counts it as the repeat it is.
        changed: list[str] = []
        for length in lengths:
            run_keys = keys[start : start + length]
            was = list(map(old_prints.pop, run_keys, repeat(None)))
            run = bytes(map(eq, was, prints[start : start + length]))
            conn.send(("same", run))
            changed += (run_keys[i] for i in compress(range(length), map(not_, run)) if was[i] is not None)
            start += length
        del keys, message
        wanted = [*old_prints, *changed]
        entries = list(source.encoded_at(files, _offsets(runs, wanted)))
        conn.send(("entries", entries))
        if render is not None:
            conn.send(("rendered", _render_rest(source, entries, conn.recv(), render)))
    except SnapshotRejected as exc:
        conn.send(("rejected", exc.reason.value, str(exc)))
    except SnapshotError as exc:
        conn.send(("rejected", Rejection.UNPARSABLE.value, str(exc)))
    except Exception as exc:  # noqa: BLE001 - any other failure is the parent's to raise
        try:
            conn.send(("failed", exc))
        except Exception:  # noqa: BLE001 - an exception that does not pickle
            conn.send(("failed", RuntimeError(repr(exc))))
    finally:
        conn.close()


def _expect(message: tuple[Any, ...], kind: str, source: RawRecords) -> tuple[Any, ...]:
    if message[0] != kind:
        raise RuntimeError(f"{source.info.id}: the diff sent {message[0]!r}, not {kind!r}")
    return message


def _render_rest(
    source: RawRecords, entries: list[tuple[str, bytes] | RecordError],
    message: tuple[str, list[tuple[str, bytes]], list[str]], render: _Render,
) -> bytes:  # fmt: skip
    _expect(message, "rest", source)
    previous: dict[str, bytes] = {}
    for item in entries:
        if not isinstance(item, RecordError):
            previous.setdefault(*item)  # the first of a repeated key, as ``take`` keeps it
    arrived, gone = dict(message[1]), message[2]
    return b"".join(map(render, chain(raw_arrivals(previous, arrived, arrived), raw_removals(previous, gone))))


def _new_side_message(runs: list[_Run]) -> tuple[str, str | list[str], array[int], list[int]]:
    """The new records' keys, fingerprints and run lengths, for the old side's compare. The keys are joined
    into one string (sent at memory speed; a million small strings are pickled one by one), unless a key holds
    the separator."""
    keys = [key for run in runs for key in run[0]]
    prints = array("Q")
    for run in runs:
        prints.extend(run[1])
    lengths = [len(run[0]) for run in runs]
    blob = "\n".join(keys)
    if blob.count("\n") == len(keys) - 1 and keys:
        return "joined", blob, prints, lengths
    return "listed", keys, prints, lengths


class _Unread(Mapping[str, bytes]):
    """The base of a new snapshot whose unchanged records were never parsed: nothing to read."""

    def __getitem__(self, key: str) -> bytes:
        raise KeyError(f"{key}: an unchanged record that read_pair did not parse")

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


def _side(side: str, func: Callable[..., _T], *args: Any) -> _T:
    """``func(*args)``, with any rejection (or unreadable snapshot) marked as the ``side``'s."""
    try:
        return func(*args)
    except SnapshotRejected as exc:
        exc.side = side
        raise
    except SnapshotError as exc:
        raise SnapshotRejected(Rejection.UNPARSABLE, str(exc), side) from exc
