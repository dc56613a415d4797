"""AIIB debarment list, on hand-made pages (no real copy could be obtained; tests/fixtures/PROVENANCE.md)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.diff import Rejection, SnapshotRejected, decode_entry, diff, read_snapshot
from monitor.snapshot import from_path
from monitor.sources.aiib import Aiib, split_name
from monitor.sources.base import RecordError, SnapshotError
from tests.snapshots import FIXTURES

AIIB = Aiib()


def snapshot(path: Path):  # type: ignore[no-untyped-def]
    files = from_path(AIIB.info, path)
    return read_snapshot(AIIB, files, files.snapshot_id())


def page(tmp_path: Path, header: str, rows: str) -> Path:
    folder = tmp_path / "page"
    folder.mkdir(exist_ok=True)
    (folder / "debarment-list.html").write_text(
        f"<html><body><table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table></body></html>"
    )
    return folder


HEADER = "".join(f"<th>{h}</th>" for h in
                 ("Name", "Address", "Nationality", "Start Date", "End Date", "Prohibited Practice"))  # fmt: skip


def test_entries_with_aliases_dates_and_practices() -> None:
    v1 = snapshot(FIXTURES / "aiib" / "handmade_v1")
    assert (len(v1.entries), v1.error_count) == (4, 0)
    sre = decode_entry(v1.entries["Sample Road Engineering Co., Ltd.|Mar 15, 2021"])
    assert sre.aliases == ["SRE Construction", "Sample Roads"]
    assert (sre.listed_on, sre.end_date, sre.countries) == ("2021-03-15", "2024-03-14", ["Bangladesh"])
    demo = decode_entry(v1.entries["Demo Power Systems LLP|Feb 2, 2024"])
    assert (demo.aliases, demo.end_date) == (["Demo Power Solutions"], None)  # permanent
    assert "China Example (Beijing) Consulting Co., Ltd.|Jun 1, 2022" in v1.entries


def test_changes_between_two_pages_and_an_expired_debarment() -> None:
    v1 = snapshot(FIXTURES / "aiib" / "handmade_v1")
    v2 = snapshot(FIXTURES / "aiib" / "handmade_v2")
    changes = list(diff("aiib", v1.entries, "v1", v2, datetime(2026, 11, 29, tzinfo=UTC), AIIB.info))
    assert Counter(c.change for c in changes) == {"added": 1, "removed": 1, "modified": 1}
    removed = next(c for c in changes if c.change == "removed")
    assert (removed.current.name, removed.removal) == ("Sample Road Engineering Co., Ltd.", "expired")
    modified = next(c for c in changes if c.change == "modified")
    assert [f.field for f in modified.fields] == ["addresses", "raw.Address"]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("ABC Ltd. (a.k.a. XYZ Ltd.)", ("ABC Ltd.", ["XYZ Ltd."])),
        ("China Railway (Beijing) Engineering Co.", ("China Railway (Beijing) Engineering Co.", [])),
        ("Example Holdings (HK)", ("Example Holdings (HK)", [])),
        ("Example Group (Example Trading Company)", ("Example Group", ["Example Trading Company"])),
        ("示例工程有限公司（又名 Example Works）", ("示例工程有限公司", ["又名 Example Works"])),
    ],
)
def test_split_name(cell: str, expected: tuple[str, list[str]]) -> None:
    assert split_name(cell) == expected


def test_a_changed_layout_is_a_rejection_naming_what_was_found(tmp_path: Path) -> None:
    folder = page(tmp_path, "<th>Firm</th><th>Country</th><th>Period</th>", "<tr><td>A</td><td>B</td><td>C</td></tr>")
    with pytest.raises(SnapshotRejected) as info:
        snapshot(folder)
    assert info.value.reason is Rejection.UNPARSABLE
    assert "found [['Firm', 'Country', 'Period']]" in str(info.value)
    (folder / "debarment-list.html").write_text("<html><body><p>Access denied</p></body></html>")
    with pytest.raises(SnapshotError, match="no table"):
        snapshot(folder)


def test_dates_in_an_unknown_format_are_unreadable_records_and_trip_the_guard(tmp_path: Path) -> None:
    row = "<tr><td>Firm {i}</td><td>addr</td><td>China</td><td>{date}</td><td>Permanent</td><td>Fraud</td></tr>"
    good = "".join(row.format(i=i, date="Jan 1, 2024") for i in range(3))
    bad = row.format(i=9, date="the first of January")
    items = list(AIIB.parse(from_path(AIIB.info, page(tmp_path, HEADER, good + bad))))
    assert sum(isinstance(i, RecordError) for i in items) == 1
    with pytest.raises(SnapshotRejected) as info:
        snapshot(tmp_path / "page")
    assert info.value.reason is Rejection.ERROR_RATE
