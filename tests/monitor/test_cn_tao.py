"""Taiwan Affairs Office lists: hand-made GB18030 notice pages (no real page could be obtained), and notices
rebuilt at test time from the 37 TAO rows of OpenSanctions' curated cn_sanctions CSV (read in place)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.diff import SnapshotRejected, decode_entry, diff, read_snapshot
from monitor.snapshot import from_path
from monitor.sources.cn_tao import DIEHARDS, HENCHMEN, LINKED, LIST_EN, CnTao, parse_notice
from tests.snapshots import FIXTURES, realdata_root

TAO = CnTao()


def snapshot(path: Path):  # type: ignore[no-untyped-def]
    files = from_path(TAO.info, path, linked=True)
    return read_snapshot(TAO, files, files.snapshot_id())


def test_the_index_links_only_notices_about_the_lists() -> None:
    data = (FIXTURES / "cn_tao" / "handmade_v2" / "index.html").read_bytes()
    links = TAO.linked_files("index.html", data, "https://www.gwytb.gov.cn/zccs/zccs_61195/cjtdwgfz/")
    assert len(links) == 4
    assert all(link.url.startswith("https://www.gwytb.gov.cn/zccs/zccs_61195/cjtdwgfz/20") for link in links)


def test_gb18030_notices_replayed_into_three_lists() -> None:
    v1 = snapshot(FIXTURES / "cn_tao" / "handmade_v1")
    entries = [decode_entry(v1.entries[k]) for k in v1.entries]
    by_list = defaultdict(set)
    for e in entries:
        by_list[e.raw["list"]].add(e.name)
    assert by_list == {
        DIEHARDS: {"王示范", "李样本", "陈例子"},
        LINKED: {"示范民主基金会", "样本能源股份有限公司", "例子科技"},
        HENCHMEN: {"赵测试", "钱演示"},
    }
    energy = decode_entry(v1.entries[f"{LIST_EN[LINKED]}|样本能源股份有限公司"])
    assert (energy.aliases, energy.entity_type, energy.listed_on) == (
        ["Sample Energy Co., Ltd."],
        "entity",
        "2022-08-03",
    )


def test_a_lifting_notice_removes_the_person_from_that_list_only() -> None:
    v1, v2 = snapshot(FIXTURES / "cn_tao" / "handmade_v1"), snapshot(FIXTURES / "cn_tao" / "handmade_v2")
    changes = list(diff("cn_tao", v1.entries, "v1", v2, datetime(2026, 1, 1, tzinfo=UTC), TAO.info))
    assert [(c.change, c.current.name, c.removal) for c in changes] == [("removed", "陈例子", "delisted")]


def test_a_listing_notice_with_no_readable_name_is_an_error_and_no_notice_at_all_a_rejection(tmp_path: Path) -> None:
    folder = tmp_path / "snap"
    folder.mkdir()
    (folder / "index.html").write_text("<html></html>")
    (folder / "notice-1.htm").write_bytes("<html><body><h1>国务院台办：依法对“台独”顽固分子实施惩戒</h1>"
                                          "<p>具体名单另行公布。</p></body></html>".encode("gb18030"))  # fmt: skip
    items = list(TAO.parse(from_path(TAO.info, folder, linked=True)))
    assert len(items) == 1
    assert "names no one" in str(items[0])
    (folder / "notice-1.htm").write_bytes("<html><body><h1>国务院台办新闻发布会</h1></body></html>".encode("gb18030"))
    with pytest.raises(SnapshotRejected, match="no notice"):
        snapshot(folder)


def test_notices_rebuilt_from_the_curated_tao_rows_give_back_every_row() -> None:
    """Each real notice URL of the curated CSV becomes one page in the TAO's layout, names as published in
    Chinese with their English names; the parser must give back every (list, Chinese name)."""
    path = realdata_root() / "cn_sanctions_opensanctions" / "2026-08-07_sanctions.csv"
    rows = [r for r in csv.DictReader(io.StringIO(path.read_text("utf-8"))) if "gwytb" in r["Source URL"]]
    assert len(rows) == 37
    heading = {LIST_EN[DIEHARDS]: "“台独”顽固分子清单", LIST_EN[HENCHMEN]: "“台独”打手帮凶清单"}
    pages: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        pages[row["Source URL"]].append(row)
    expected, found = set(), set()
    for number, (url, group) in enumerate(sorted(pages.items())):
        lines = [url, "国务院台办：依法惩戒“台独”顽固分子及其关联企业和机构", f"发布时间：{group[0]['Date']}"]
        for list_name in sorted({r["List"] for r in group}):
            lines.append(f"{heading.get(list_name, '对下列关联企业和机构实施惩戒')}：")
            for i, row in enumerate(r for r in group if r["List"] == list_name):
                lines.append(f"{i + 1}. {row['Chinese name']}（{row['Name']}）")
                zh_list = {LIST_EN[DIEHARDS]: DIEHARDS, LIST_EN[HENCHMEN]: HENCHMEN}.get(list_name, LINKED)
                expected.add((zh_list, row["Chinese name"], row["Name"]))
        notice = parse_notice(f"n{number}", "\n".join(lines))
        found |= {(lst, zh, en) for lst, parties in notice.parties.items() for zh, en in parties}
    assert found == expected
