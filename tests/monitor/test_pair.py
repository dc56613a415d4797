"""read_pair with the old snapshot in a forked process (``listwatch diff -j 2``): the same snapshots as in one
process, its failures raised here, never a hang; diff_output, the command's changes rendered partly in that
process, the same bytes in the same order. The real-pair equality of both is in test_fingerprints.py."""

from __future__ import annotations

import os
from array import array
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import orjson
import pytest

from monitor.cli import change_line
from monitor.diff import ParsedSnapshot, Rejection, SnapshotRejected, diff
from monitor.pair import _half, _inherit, _new_side_message, _take_out_moved, diff_output, read_pair
from monitor.snapshot import DiskSnapshot
from monitor.sources.base import RecordError, SnapshotFiles
from monitor.sources.ofac_sdn import OfacSdn
from monitor.spool import EntrySpool
from tests.monitor.printed import listed_line


def _write(path: Path, rows: list[str]) -> DiskSnapshot:
    path.write_bytes(("\r\n".join(rows) + "\r\n\x1a").encode("ascii"))
    return DiskSnapshot({"sdn.csv": path})


def _row(n: int, name: str, program: str = "SDGT") -> str:
    return f'{n},"{name}",-0- ,"{program}",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"-0- "'


def _view(files: tuple[DiskSnapshot, DiskSnapshot], workers: int) -> tuple[object, ...]:
    a, b = read_pair(OfacSdn(), *files, ("a", "b"), workers=workers)
    own = {key: b.entries[key] for key in b.entries.own()}
    return dict(a.entries.items()), own, sorted(b.entries), b.duplicates, b.error_count, b.errors


def test_repeated_keys_and_unreadable_records_come_out_alike_in_one_or_two_processes(tmp_path: Path) -> None:
    old = [_row(n, f"COMPANY {n} LTD") for n in range(1, 301)]
    new = [_row(n, f"COMPANY {n} LTD", "IRAN" if n % 7 == 0 else "SDGT") for n in range(5, 321)]
    # A key twice (changed first, then unchanged), a new key twice, an unreadable record.
    new[10] = _row(15, "COMPANY 15 LTD", "CUBA")
    new.append(_row(15, "COMPANY 15 LTD"))
    new += ["401,NO CLOSING FIELDS", _row(400, "LATE ARRIVAL LTD"), _row(400, "LATE ARRIVAL AGAIN LTD")]
    files = (_write(tmp_path / "old.csv", old), _write(tmp_path / "new.csv", new))
    here, forked = _view(files, 1), _view(files, 2)
    assert forked == here
    _, own, _, duplicates, errors, _ = here
    assert isinstance(own, dict)
    assert "400" in own
    assert (duplicates, errors) == (2, 1)



def test_the_rendered_changes_are_the_same_bytes_in_one_or_two_processes(tmp_path: Path) -> None:
    old = [_row(n, f"COMPANY {n} LTD") for n in range(1, 301)]
    new = [_row(n, f"COMPANY {n} LTD", "IRAN" if n % 7 == 0 else "SDGT") for n in range(5, 321)]
    new[10] = _row(15, "COMPANY 15 LTD", "CUBA")
    new.append(_row(15, "COMPANY 15 LTD"))
    # An existing key's record unreadable in the new snapshot: it keeps its entry (carry_forward), no removal.
    new[20] = "25,BROKEN RECORD"
    files = (_write(tmp_path / "old.csv", old), _write(tmp_path / "new.csv", new))
    at = datetime(2026, 11, 30, tzinfo=UTC)
    a, b = read_pair(OfacSdn(), *files, ("a", "b"))
    expected = b"".join(map(listed_line, diff("ofac_sdn", a.entries, "a", b, at, OfacSdn().info)))
    kinds = [orjson.loads(line)["change"] for line in expected.splitlines()]
    # 42 multiples of 7 and key 15 (its first record) modified; keys 1 to 4 removed, not 25.
    assert (kinds.count("added"), kinds.count("modified"), kinds.count("removed")) == (20, 43, 4)
    assert (b.carried, b.entries["25"]) == (1, a.entries["25"])
    assert orjson.loads(expected.splitlines()[-1])["change"] == "removed"
    for workers in (1, 2):
        printed = b"".join(diff_output(OfacSdn(), *files, ("a", "b"), partial(change_line, "ofac_sdn"), workers=workers))
        assert printed == expected


def test_the_forked_side_renders_about_half() -> None:
    previous = {"2": b"", "4": b""}
    # Weights 1, 2, 1, 2 and three removals: nine, this side's half ends once 4.5 is reached.
    assert _half(["1", "2", "3", "4"], previous, 3) == 4
    assert _half(["1", "2", "3", "4"], previous, 0) == 2  # 1 + 2 of 6
    assert _half(["1", "2", "3", "4"], previous, 30) == 4
    assert _half([], previous, 3) == 0


def test_an_empty_old_snapshot_is_refused_as_the_old_side(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"\x1a")
    good = _write(tmp_path / "good.csv", [_row(n, f"COMPANY {n} LTD") for n in range(1, 11)])
    with pytest.raises(SnapshotRejected) as raised:
        read_pair(OfacSdn(), DiskSnapshot({"sdn.csv": empty}), good, ("a", "b"), workers=2)
    assert (raised.value.reason, raised.value.side) == (Rejection.EMPTY, "old")
    with pytest.raises(SnapshotRejected) as raised:
        next(diff_output(OfacSdn(), DiskSnapshot({"sdn.csv": empty}), good, ("a", "b"), partial(change_line, "ofac_sdn"),
                         workers=2))  # fmt: skip
    assert (raised.value.reason, raised.value.side) == (Rejection.EMPTY, "old")


class _Failing(OfacSdn):
    """encoded_at fails only in the forked reader (another process than the test's)."""

    def __init__(self, how: str) -> None:
        self.how = how
        self.parent = os.getpid()

    def encoded_at(self, files: SnapshotFiles, offsets: Iterable[int]) -> Iterator[tuple[str, bytes] | RecordError]:
        if os.getpid() != self.parent:
            if self.how == "die":
                os._exit(3)
            raise ValueError("a defect in the old side's parse")
        return super().encoded_at(files, offsets)


def _pair(tmp_path: Path) -> tuple[DiskSnapshot, DiskSnapshot]:
    old = _write(tmp_path / "old.csv", [_row(n, f"COMPANY {n} LTD") for n in range(1, 51)])
    new = _write(tmp_path / "new.csv", [_row(n, f"COMPANY {n} LTD", "IRAN") for n in range(1, 51)])
    return old, new


def test_a_reader_that_dies_is_an_error_not_a_hang(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match=r"reader stopped \(exit code 3\)"):
        read_pair(_Failing("die"), *_pair(tmp_path), ("a", "b"), workers=2)


def test_a_defect_in_the_reader_is_raised_here(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="a defect in the old side's parse"):
        read_pair(_Failing("raise"), *_pair(tmp_path), ("a", "b"), workers=2)


def test_keys_are_sent_as_one_string_unless_one_holds_the_separator() -> None:
    kind, keys, _, lengths = _new_side_message([(["1", "2"], _prints(2), _prints(2)), (["3"], _prints(1), _prints(1))])
    assert (kind, keys, lengths) == ("joined", "1\n2\n3", [2, 1])
    kind, keys, _, _ = _new_side_message([(["1", "2\n3"], _prints(2), _prints(2))])
    assert (kind, keys) == ("listed", ["1", "2\n3"])
    assert _new_side_message([])[0] == "listed"


def _prints(n: int) -> array[int]:
    return array("Q", range(n))


def test_a_key_changed_in_one_run_and_unchanged_in_a_later_one_is_parsed() -> None:
    """Runs are chunks of the file: the fast pass would inherit the later, unchanged record of key 1."""
    after = ParsedSnapshot(snapshot_id="b", entries=EntrySpool())
    runs = [((["1", "2"], _prints(2), array("Q", [0, 10])), [False, True]),
            ((["3", "1"], _prints(2), array("Q", [20, 30])), [True, True])]  # fmt: skip
    assert _inherit(after, runs) == [0]
    assert sorted(after.entries) == ["2", "3"]
    assert after.duplicates == 1
    # Without a repeated key the fast pass stands: the same runs with key 1 once.
    after = ParsedSnapshot(snapshot_id="b", entries=EntrySpool())
    assert _inherit(after, [runs[0], ((["3"], _prints(1), array("Q", [20])), [True])]) == [0]
    assert (sorted(after.entries), after.duplicates) == (["2", "3"], 0)


def test_keys_taken_as_inherited_beforehand_come_out_as_inherit_takes_them() -> None:
    """``-j 2`` takes every new key as inherited while the old side still reads (``assume_inherited``), then
    takes out those flagged moved: the same entries, order and offsets as ``_inherit``'s."""
    runs = [((["1", "2", "5"], _prints(3), array("Q", [0, 10, 20])), b"\x00\x01\x01"),
            ((["3", "4"], _prints(2), array("Q", [30, 40])), b"\x01\x00")]  # fmt: skip
    reference = ParsedSnapshot(snapshot_id="b", entries=EntrySpool())
    assert _inherit(reference, runs) == [0, 40]
    assumed = EntrySpool()
    assert assumed.assume_inherited(k for run, _ in runs for k in run[0]) == 5
    assert _take_out_moved(assumed, runs) == [0, 40]
    assert list(assumed) == list(reference.entries) == ["2", "5", "3"]
    assert all(assumed.inherited(k) for k in assumed)
    assumed.add("1", b"{}")
    with pytest.raises(ValueError, match="not an inherited entry"):
        assumed.disown(["1"])
    with pytest.raises(ValueError, match="empty spool"):
        assumed.assume_inherited(["9"])

