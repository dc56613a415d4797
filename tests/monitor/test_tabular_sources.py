"""Table-shaped sources (HTML, CSV, XLSX) parse their real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.models import Entry
from monitor.diff import SnapshotRejected, read_snapshot
from monitor.snapshot import from_path
from monitor.sources import registry
from monitor.sources.base import RecordError
from monitor.sources.worldbank import split_names
from tests.snapshots import materialise


def entries(source_id: str, snapshot: str, tmp_path: Path) -> list[Entry]:
    source = registry()[source_id]
    parsed = list(source.parse(from_path(source.info, materialise(source_id, snapshot, tmp_path))))
    assert not [e for e in parsed if isinstance(e, RecordError)]
    return [e for e in parsed if isinstance(e, Entry)]


def test_ebrd_real_export(tmp_path: Path) -> None:
    found = entries("ebrd", "2025-02", tmp_path)
    assert len(found) == 1322
    first = found[0]
    assert first.name == "China Gezhouba Group Co., Ltd. by Shares Nigeria Co., Ltd."
    assert (first.listed_on, first.end_date, first.countries) == ("2024-07-01", "2025-05-31", ["Nigeria"])
    # The publisher's stray quotes are read, not fatal.
    assert any("Supper Fortuna" in e.name for e in found)


def test_worldbank_website_xlsx(tmp_path: Path) -> None:
    found = entries("worldbank", "2025-01-07_xlsx", tmp_path)
    assert len(found) == 1285
    first = found[0]
    assert (first.name, first.countries, first.listed_on, first.end_date) == (
        "MR. RUFAT MAJIDOV", ["Azerbaijan"], "2024-12-10", "2027-08-09")  # fmt: skip
    assert any(e.aliases == ["LANDMARC LIMITED"] for e in found)


@pytest.mark.parametrize(
    ("published", "expected"),
    [
        ("ACME LTD. a.k.a. ACME TRADING", ("ACME LTD.", ["ACME TRADING"])),
        ("FOO S.A. (f/k/a BAR S.A.)", ("FOO S.A.", ["BAR S.A."])),
        ("PLAIN NAME*", ("PLAIN NAME", [])),
    ],
)
def test_worldbank_names_carry_aliases(published: str, expected: tuple[str, list[str]]) -> None:
    assert split_names(published) == expected


def test_idb_keeps_chinese_other_name(tmp_path: Path) -> None:
    found = entries("idb", "2024-06-13", tmp_path)
    weihai = next(e for e in found if e.name.startswith("1st Construction Branch of Weihai"))
    assert weihai.aliases == ["威海建设集团股份有限公司第一建筑分公司"]
    assert weihai.countries == ["China", "Kenya"]
    assert weihai.listed_on == "2022-02-17"


def test_cn_sanctions_names_in_both_scripts(tmp_path: Path) -> None:
    found = entries("cn_sanctions", "2026-08-07", tmp_path)
    ned = next(e for e in found if e.name == "National Endowment for Democracy")
    assert ned.aliases[0] == "美国国家民主基金会"
    assert ned.listed_on == "2019-12-02"


def test_afdb_table(tmp_path: Path) -> None:
    found = entries("afdb", "2024-06-04", tmp_path)
    assert len(found) == 1006
    assert all(e.entity_type in {"entity", "individual"} for e in found)


def test_csv_cut_inside_a_quoted_field_is_rejected(tmp_path: Path) -> None:
    source = registry()["cn_sanctions"]
    good = materialise("cn_sanctions", "2026-08-07", tmp_path) / "sanctions.csv"
    data = good.read_bytes()
    cut_at = data.index(b'"', len(data) // 2) + 3  # just inside a quoted field
    (tmp_path / "cut").mkdir()
    (tmp_path / "cut" / "sanctions.csv").write_bytes(data[:cut_at])
    with pytest.raises(SnapshotRejected):
        read_snapshot(source, from_path(source.info, tmp_path / "cut"), "x")


def test_html_page_without_the_table_is_rejected(tmp_path: Path) -> None:
    source = registry()["afdb"]
    page = tmp_path / "debarment.html"
    page.write_text("<html><body><h1>Please enable JavaScript</h1></body></html>")
    with pytest.raises(SnapshotRejected, match="no table"):
        read_snapshot(source, from_path(source.info, page), "x")


def test_worldbank_json_api(tmp_path: Path) -> None:
    cccc, person = entries("worldbank", "handmade_json", tmp_path)
    assert (cccc.key, cccc.name, cccc.aliases) == (
        "1000123",
        "CHINA COMMUNICATIONS CONSTRUCTION COMPANY LTD.",
        ["CCCC"],
    )
    assert (cccc.listed_on, cccc.end_date, cccc.entity_type) == ("2009-01-12", "2017-01-12", "entity")
    assert person.end_date is None  # 2999-12-31 means permanent
    assert person.entity_type == "individual"
