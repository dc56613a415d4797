"""MOFCOM export-control lists from the publishing API (paged JSON): hand-made pages (no real response could
be obtained), and pages rebuilt from the real control-list notices that cn_mofcom reads."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.diff import SnapshotRejected, decode_entry, diff, read_snapshot
from monitor.snapshot import from_path
from monitor.sources.base import SnapshotError
from monitor.sources.cn_export_control import CnExportControl
from monitor.sources.cn_mofcom import CnMofcom
from tests.snapshots import FIXTURES, materialise

SOURCE = CnExportControl()
HANDMADE = FIXTURES / "cn_export_control"


def snapshot(path: Path):  # type: ignore[no-untyped-def]
    files = from_path(SOURCE.info, path, linked=True)
    return read_snapshot(SOURCE, files, files.snapshot_id())


def test_the_first_page_links_every_further_page() -> None:
    first = (HANDMADE / "handmade_v2" / "control-1.json").read_bytes()
    url = "https://aqygzj.mofcom.gov.cn/api/ecl/list?listType=control&pageNo=1&pageSize=2"
    [second] = SOURCE.linked_files("control-1.json", first, url)
    assert (second.name, second.url) == ("control-2.json", url.replace("pageNo=1", "pageNo=2"))
    assert SOURCE.linked_files("control-2.json", first, url) == []


def test_both_lists_and_a_watch_list_removal() -> None:
    v1, v2 = snapshot(HANDMADE / "handmade_v1"), snapshot(HANDMADE / "handmade_v2")
    assert Counter(k.split("|")[0] for k in v1.entries) == {"Export Control Control List": 3,
                                                            "Export Control Watch List": 2}  # fmt: skip
    chinese_only = decode_entry(v1.entries["Export Control Watch List|范例半导体公司"])
    assert (chinese_only.name, chinese_only.aliases) == ("范例半导体公司", [])
    changes = list(diff(SOURCE.info.id, v1.entries, "v1", v2, datetime(2026, 3, 2, tzinfo=UTC), SOURCE.info))
    assert sorted((c.change, c.entry_key, c.removal) for c in changes) == [
        ("added", "Export Control Control List|Test Optronics Inc.", None),
        ("removed", "Export Control Watch List|Specimen Materials Corp.", "delisted"),
    ]


def test_pages_that_do_not_add_up_to_the_total_are_refused(tmp_path: Path) -> None:
    folder = tmp_path / "snap"
    shutil.copytree(HANDMADE / "handmade_v2", folder)
    (folder / "control-2.json").unlink()  # the second page went missing
    with pytest.raises(SnapshotRejected, match="hold 2 records, the API said 4"):
        snapshot(folder)
    shutil.copy(HANDMADE / "handmade_v2" / "control-2.json", folder)
    (folder / "watch-1.json").write_text(json.dumps({"code": 500, "msg": "busy", "data": {"total": 0, "list": []}}))
    with pytest.raises(SnapshotRejected, match="code 500"):
        snapshot(folder)
    (folder / "watch-1.json").write_text("<html>Access denied</html>")
    with pytest.raises(SnapshotError, match="not JSON"):
        SOURCE.linked_files("watch-1.json", (folder / "watch-1.json").read_bytes(), "https://x/?pageNo=1")


def test_the_same_party_has_the_same_key_as_in_the_notices(tmp_path: Path) -> None:
    """The control list as cn_mofcom reads it from the real MOFCOM notices, served as API pages: every entry
    keeps its key, so one party is one entry whichever way listwatch learns of it."""
    mofcom = CnMofcom()
    notices = from_path(mofcom.info, materialise("cn_mofcom", "notices", tmp_path), linked=True)
    parsed = read_snapshot(mofcom, notices, notices.snapshot_id())
    control = [decode_entry(parsed.entries[k]) for k in parsed.entries if k.startswith("Export Control Control List|")]
    assert len(control) > 50
    records = [{"nameCn": e.raw["zh"], "nameEn": e.raw["en"], "addDate": e.listed_on} for e in control]
    folder = tmp_path / "api"
    folder.mkdir()
    pages = [records[i : i + 20] for i in range(0, len(records), 20)]
    for n, chunk in enumerate(pages, 1):
        body = {"code": 200, "data": {"total": len(records), "pageNo": n, "pageSize": 20, "list": chunk}}
        (folder / f"control-{n}.json").write_text(json.dumps(body, ensure_ascii=False))
    (folder / "watch-1.json").write_text(json.dumps({"code": 200, "data": {"total": 0, "pageSize": 20, "list": []}}))
    api = snapshot(folder)
    assert set(api.entries) == {e.key for e in control}
