"""Fingerprint-first reading (issue 11, diff at scale): parsing only the records whose raw bytes moved must
give exactly the changes of a full parse, on every real OFAC pair, and keep every guard."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import orjson
import pytest

from contracts.models import ListChange
from monitor.cli import change_line
from monitor.diff import Previous, Rejection, SnapshotRejected, check_shrink, diff, encode_entry, read_snapshot
from monitor.pair import diff_output, read_pair
from monitor.snapshot import DiskSnapshot, from_path
from monitor.sources.base import RawRecords, RecordError, SnapshotFiles
from monitor.sources.ofac_cons import OfacCons
from monitor.sources.ofac_csv import OfacCsvSource
from monitor.sources.ofac_sdn import OfacSdn
from tests.monitor.printed import listed_line
from tests.snapshots import materialise

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PAIRS = [
    ("ofac_sdn", "gitscrape_2021-11-10", "gitscrape_2021-11-12"),
    ("ofac_sdn", "gitscrape_2021-11-12", "gitscrape_2024-05-03"),
    ("ofac_sdn", "watchman_2019-01", "watchman_2021-07"),
    ("ofac_cons", "watchman_2025-12", "perchrh_2018-05"),
]


def _source(source_id: str) -> OfacCsvSource:
    return OfacSdn() if source_id == "ofac_sdn" else OfacCons()


def _full(source: OfacCsvSource, old: SnapshotFiles, new: SnapshotFiles) -> list[ListChange]:
    """The reference: both snapshots parsed record by record, nothing skipped."""

    class Plain:
        info = source.info
        parse = source.parse

    a, b = read_snapshot(Plain(), old, "a"), read_snapshot(Plain(), new, "b")
    assert not isinstance(Plain(), RawRecords)
    check_shrink(source.info, len(a.entries), b)
    return list(diff(source.info.id, a.entries, "a", b, NOW, source.info))


def _view(changes: list[ListChange]) -> list[tuple[str, str, str]]:
    return sorted((c.entry_key, c.change, c.event_id) for c in changes)


@pytest.mark.parametrize(("source_id", "before", "after"), PAIRS)
def test_monitor_path_gives_the_full_parse_changes(tmp_path: Path, source_id: str, before: str, after: str) -> None:
    source = _source(source_id)
    old = from_path(source.info, materialise(source_id, before, tmp_path))
    new = from_path(source.info, materialise(source_id, after, tmp_path))
    expected = _full(source, old, new)
    first = read_snapshot(source, old, "a")
    assert first.prints is not None
    assert len(first.prints) >= len(first.entries)
    previous = Previous(first.entries, first.prints, first.prints_version)
    second = read_snapshot(source, new, "b", previous)
    check_shrink(source.info, len(first.entries), second)
    got = list(diff(source_id, first.entries, "a", second, NOW, source.info))
    assert _view(got) == _view(expected)
    assert [c.fields for c in sorted(got, key=lambda c: c.event_id)] == [
        c.fields for c in sorted(expected, key=lambda c: c.event_id)
    ]
    # The entries that did not change were (nearly all) inherited, not parsed; every one still reads back
    # as the full parse gives it (what the monitor saves for the next diff).
    inherited = sum(second.entries.inherited(k) for k in second.entries)
    unchanged = len(second.entries) - sum(c.change != "removed" for c in expected)
    assert inherited >= 0.9 * unchanged > 0
    reference = read_snapshot(type("P", (), {"info": source.info, "parse": source.parse})(), new, "b")
    assert dict(second.entries.items()) == dict(reference.entries.items())


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize(("source_id", "before", "after"), PAIRS)
def test_cli_pair_gives_the_full_parse_changes(
    tmp_path: Path, source_id: str, before: str, after: str, workers: int
) -> None:
    source = _source(source_id)
    old = from_path(source.info, materialise(source_id, before, tmp_path))
    new = from_path(source.info, materialise(source_id, after, tmp_path))
    a, b = read_pair(source, old, new, ("a", "b"), workers=workers)
    got = list(diff(source_id, a.entries, "a", b, NOW, source.info))
    assert _view(got) == _view(_full(source, old, new))
    # What the command prints (with -j 2 partly rendered by the old snapshot's process): the same, in order.
    printed = b"".join(diff_output(source, old, new, ("a", "b"), partial(change_line, source_id), workers=workers))
    assert printed == b"".join(map(listed_line, got))


def _write(path: Path, rows: list[str]) -> Path:
    path.write_bytes(("\r\n".join(rows) + "\r\n\x1a").encode("ascii"))
    return path


def _row(n: int, name: str, program: str = "SDGT", remarks: str = "-0- ") -> str:
    return f'{n},"{name}",-0- ,"{program}",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"{remarks}"'


def test_a_changed_alias_file_line_moves_the_fingerprint(tmp_path: Path) -> None:
    """Only the alias file changed: the entry's fingerprint must move, or the new alias would never be seen."""
    main = [_row(n, f"COMPANY {n} LTD") for n in range(1, 21)]
    old_dir, new_dir = tmp_path / "old", tmp_path / "new"
    for d, alias in ((old_dir, "ALPHA"), (new_dir, "BETA")):
        d.mkdir()
        _write(d / "sdn.csv", main)
        _write(d / "alt.csv", [f'7,1,"aka","{alias} TRADING",-0- '])
    source = OfacSdn()
    first = read_snapshot(source, DiskSnapshot({"sdn.csv": old_dir / "sdn.csv", "alt.csv": old_dir / "alt.csv"}), "a")
    files = DiskSnapshot({"sdn.csv": new_dir / "sdn.csv", "alt.csv": new_dir / "alt.csv"})
    second = read_snapshot(source, files, "b", Previous(first.entries, first.prints, first.prints_version))
    changes = list(diff("ofac_sdn", first.entries, "a", second, NOW, source.info))
    assert [(c.entry_key, c.change) for c in changes] == [("7", "modified")]
    assert changes[0].after is not None
    assert changes[0].after.aliases == ["BETA TRADING"]


def test_fingerprints_of_another_mapper_are_not_trusted(tmp_path: Path) -> None:
    """After an upgrade of the record mapper every record is parsed again, not only those that moved."""
    path = _write(tmp_path / "sdn.csv", [_row(n, f"COMPANY {n} LTD") for n in range(1, 11)])
    source = OfacSdn()
    files = DiskSnapshot({"sdn.csv": path})
    first = read_snapshot(source, files, "a")
    same = read_snapshot(source, files, "b", Previous(first.entries, first.prints, first.prints_version))
    assert all(same.entries.inherited(k) for k in same.entries)
    upgraded = read_snapshot(source, files, "b", Previous(first.entries, first.prints, "an older mapper"))
    assert not any(upgraded.entries.inherited(k) for k in upgraded.entries)


def test_a_record_unreadable_before_is_read_again_and_still_counted(tmp_path: Path) -> None:
    rows = [_row(n, f"COMPANY {n} LTD") for n in range(1, 201)]
    rows[50] = "51,NO CLOSING FIELDS"
    path = _write(tmp_path / "sdn.csv", rows)
    source = OfacSdn()
    files = DiskSnapshot({"sdn.csv": path})
    first = read_snapshot(source, files, "a")
    assert first.error_count == 1
    again = read_snapshot(source, files, "b", Previous(first.entries, first.prints, first.prints_version))
    assert again.error_count == 1
    assert "51" not in again.entries


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("cut", ["quote", "fields"])
def test_a_truncated_download_is_refused_on_the_fast_path(tmp_path: Path, cut: str, workers: int) -> None:
    rows = [_row(n, f"COMPANY {n} LTD", remarks="Linked To: SOMEONE.") for n in range(1, 101)]
    good = _write(tmp_path / "good.csv", rows)
    data = good.read_bytes()
    # Cut inside the last record's quoted remarks, or after a field separator with the rest missing.
    end = data.rindex(b"SOMEONE") if cut == "quote" else data.rindex(b'"SDGT"')
    bad = tmp_path / "bad.csv"
    bad.write_bytes(data[:end])
    source = OfacSdn()
    first = read_snapshot(source, DiskSnapshot({"sdn.csv": good}), "a")
    previous = Previous(first.entries, first.prints, first.prints_version)
    with pytest.raises(SnapshotRejected) as raised:
        read_snapshot(source, DiskSnapshot({"sdn.csv": bad}), "b", previous)
    assert raised.value.reason is Rejection.UNPARSABLE
    with pytest.raises(SnapshotRejected) as raised:
        read_pair(source, DiskSnapshot({"sdn.csv": good}), DiskSnapshot({"sdn.csv": bad}), ("a", "b"), workers=workers)
    assert raised.value.side == "new"
    with pytest.raises(SnapshotRejected) as raised:
        read_pair(source, DiskSnapshot({"sdn.csv": bad}), DiskSnapshot({"sdn.csv": good}), ("a", "b"), workers=workers)
    assert (raised.value.reason, raised.value.side) == (Rejection.UNPARSABLE, "old")


@pytest.mark.parametrize("workers", [1, 2])
def test_a_shrunken_new_snapshot_is_refused_by_read_pair(tmp_path: Path, workers: int) -> None:
    good = _write(tmp_path / "good.csv", [_row(n, f"COMPANY {n} LTD") for n in range(1, 101)])
    half = _write(tmp_path / "half.csv", [_row(n, f"COMPANY {n} LTD") for n in range(1, 41)])
    with pytest.raises(SnapshotRejected) as raised:
        read_pair(
            OfacSdn(), DiskSnapshot({"sdn.csv": good}), DiskSnapshot({"sdn.csv": half}), ("a", "b"), workers=workers
        )
    assert (raised.value.reason, raised.value.side) == (Rejection.SHRUNK, "new")


@pytest.mark.parametrize("workers", [1, 2])
def test_synthetic_million_shape_counts(tmp_path: Path, workers: int) -> None:
    """The benchmark's file shape at a small size: 1 % added, removed and modified, found exactly."""
    from bench.diff_speed import synthesise

    old, new = tmp_path / "old.csv", tmp_path / "new.csv"
    synthesise(old, 2_000, after=False)
    synthesise(new, 2_000, after=True)
    source = OfacSdn()
    a, b = read_pair(
        source, DiskSnapshot({"sdn.csv": old}), DiskSnapshot({"sdn.csv": new}), ("a", "b"), workers=workers
    )
    kinds = Counter(c.change for c in diff("ofac_sdn", a.entries, "a", b, NOW, source.info))
    assert kinds == {"added": 20, "removed": 20, "modified": 20}
    assert len(a.entries) == 40  # only what the diff reads was parsed on the old side


def test_a_quoted_line_break_takes_the_careful_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A remark with a line break inside its quotes: the chunked fast path must hand over to the careful
    reader there (and keep the chunks before it), and still give what a full parse gives."""
    from monitor.sources import ofac_csv

    monkeypatch.setattr(ofac_csv, "_CHUNK", 256)  # many chunks: fast ones, then the careful hand-over
    rows = [_row(n, f"COMPANY {n} LTD", remarks="Linked To: SOMEONE.") for n in range(1, 61)]
    rows[40] = _row(41, "COMPANY 41 LTD", remarks="first line\r\nsecond line")
    old = _write(tmp_path / "old.csv", rows)
    rows[50] = _row(51, "COMPANY 51 RENAMED LTD", remarks="Linked To: SOMEONE.")
    new = _write(tmp_path / "new.csv", rows)
    source = OfacSdn()
    keys = [k for run in source.fingerprints(DiskSnapshot({"sdn.csv": old})) for k in run.keys]
    assert keys == [str(n) for n in range(1, 61)]
    first = read_snapshot(source, DiskSnapshot({"sdn.csv": old}), "a")
    assert "second line" in orjson.loads(first.entries["41"])["remarks"]
    second = read_snapshot(source, DiskSnapshot({"sdn.csv": new}), "b",
                           Previous(first.entries, first.prints, first.prints_version))  # fmt: skip
    changes = list(diff("ofac_sdn", first.entries, "a", second, NOW, source.info))
    assert [(c.entry_key, c.change) for c in changes] == [("51", "modified")]
    assert sum(second.entries.inherited(k) for k in second.entries) == 59


@pytest.mark.parametrize(("source_id", "snapshot"), [(s, x) for s, a, b in PAIRS for x in (a, b)])
def test_encoded_at_gives_the_parse_entries_of_every_real_record(tmp_path: Path, source_id: str, snapshot: str) -> None:
    """Every record read at its offset, straight to canonical JSON, is what the full parse's Entry encodes to."""
    source = _source(source_id)
    files = from_path(source.info, materialise(source_id, snapshot, tmp_path))
    offsets = [at for run in source.fingerprints(files) for at in run.locators]
    parsed = [item if isinstance(item, RecordError) else (item.key, encode_entry(item)) for item in source.parse(files)]
    read = list(source.encoded_at(files, offsets))
    assert len(read) == len(parsed) > 400
    assert [i for i in read if not isinstance(i, RecordError)] == [i for i in parsed if not isinstance(i, RecordError)]


def test_the_odd_quote_check_finds_exactly_the_lines_a_count_per_line_finds(tmp_path: Path) -> None:
    """``_odd_quotes`` (the fast path's test for a quoted field across lines, done on the whole block) against
    a count of each line's quotes: on random blocks of quotes, commas, letters and line ends, and on the real
    OFAC file's lines, whole and with a record's closing quote cut off."""
    from monitor.sources.ofac_csv import _odd_quotes

    rng = random.Random(11)
    for _ in range(5000):
        block = b"".join(rng.choice([b'"', b'""', b"a", b",", b"\r\n", b"\n"]) for _ in range(rng.randint(0, 40)))
        block = block[: block.rfind(b"\n") + 1]
        assert _odd_quotes(block) == any(line.count(b'"') % 2 for line in block.split(b"\n"))
    real = materialise("ofac_sdn", "gitscrape_2024-05-03", tmp_path)
    lines = (real / "sdn.csv").read_bytes().split(b"\n")[:2000]
    assert not _odd_quotes(b"\n".join(lines[:-1]) + b"\n")
    quoted = next(i for i, line in enumerate(lines) if line.rstrip().endswith(b'"'))
    lines[quoted] = lines[quoted].rstrip()[:-1]
    assert _odd_quotes(b"\n".join(lines[:-1]) + b"\n")


def test_a_repeated_key_keeps_its_first_record_as_the_full_parse_does(tmp_path: Path) -> None:
    """A key listed twice: the first record wins on every path, whether it or the later one changed."""
    old = [_row(n, f"COMPANY {n} LTD") for n in range(1, 51)]
    old.append(_row(40, "COMPANY 40 LTD", "IRAN"))  # repeated in the old file too
    new = [_row(n, f"COMPANY {n} LTD") for n in range(1, 51)]
    new[10] = _row(11, "COMPANY 11 LTD", "CUBA")  # changed first record, then the unchanged one again
    new.append(_row(11, "COMPANY 11 LTD"))
    new.append(_row(20, "COMPANY 20 LTD", "CUBA"))  # unchanged first record, then a changed one
    new[29] = _row(30, "COMPANY 30 LTD", "CUBA")  # changed twice
    new.append(_row(30, "COMPANY 30 LTD", "IRAN"))
    new.append(_row(40, "COMPANY 40 LTD", "CUBA"))
    old_files = DiskSnapshot({"sdn.csv": _write(tmp_path / "old.csv", old)})
    new_files = DiskSnapshot({"sdn.csv": _write(tmp_path / "new.csv", new)})
    source = OfacSdn()
    expected = _full(source, old_files, new_files)
    assert sorted((c.entry_key, c.change) for c in expected) == [("11", "modified"), ("30", "modified")]
    first = read_snapshot(source, old_files, "a")
    second = read_snapshot(source, new_files, "b", Previous(first.entries, first.prints, first.prints_version))
    assert _view(list(diff("ofac_sdn", first.entries, "a", second, NOW, source.info))) == _view(expected)
    assert second.duplicates == 4
    for workers in (1, 2):
        a, b = read_pair(source, old_files, new_files, ("a", "b"), workers=workers)
        assert _view(list(diff("ofac_sdn", a.entries, "a", b, NOW, source.info))) == _view(expected)
        assert b.duplicates == 4


def test_a_listed_record_unreadable_now_keeps_its_entry_and_is_read_again(tmp_path: Path) -> None:
    """Never cry wolf: a record still in the file but unreadable this time is no removal on any path; the
    error still counts, and the record is read (and counted) again at the next snapshot."""
    old = [_row(n, f"COMPANY {n} LTD") for n in range(1, 401)]  # three errors stay under the 1 % limit
    new = list(old)
    new[6] = "7,BROKEN RECORD"  # too few fields, key readable
    new[7] = _row(8, "")  # no name
    new[8] = "X9,BROKEN RECORD"  # key unreadable: nothing to keep, so a removal as before
    old_files = DiskSnapshot({"sdn.csv": _write(tmp_path / "old.csv", old)})
    new_files = DiskSnapshot({"sdn.csv": _write(tmp_path / "new.csv", new)})
    source = OfacSdn()
    first = read_snapshot(source, old_files, "a")
    second = read_snapshot(source, new_files, "b", Previous(first.entries, first.prints, first.prints_version))
    assert [(c.entry_key, c.change) for c in diff("ofac_sdn", first.entries, "a", second, NOW, source.info)] == [
        ("9", "removed")
    ]
    assert (second.error_count, second.carried) == (3, 2)
    assert second.entries["7"] == first.entries["7"]
    assert second.prints is not None
    assert "7" not in second.prints  # so that it is read again next time
    third = read_snapshot(source, new_files, "c", Previous(second.entries, second.prints, second.prints_version))
    assert (third.error_count, third.carried) == (3, 2)
    for workers in (1, 2):
        a, b = read_pair(source, old_files, new_files, ("a", "b"), workers=workers)
        assert [(c.entry_key, c.change) for c in diff("ofac_sdn", a.entries, "a", b, NOW, source.info)] == [
            ("9", "removed")
        ]
        assert b.carried == 2
    # Without a previous snapshot there is nothing to keep: the record is just an error.
    assert "7" not in read_snapshot(source, new_files, "b").entries
