from __future__ import annotations

from pathlib import Path

import pytest

from contracts.models import Entry, Identifier
from monitor.diff import SnapshotRejected, read_snapshot
from monitor.snapshot import from_path
from monitor.sources.us_csl import UsCsl
from tests.snapshots import materialise


def parse(snapshot: str, tmp_path: Path) -> list[Entry]:
    source = UsCsl()
    items = list(source.parse(from_path(source.info, materialise("us_csl", snapshot, tmp_path))))
    assert all(isinstance(e, Entry) for e in items)
    return [e for e in items if isinstance(e, Entry)]


def test_current_csv_format(tmp_path: Path) -> None:
    found = parse("2025-06", tmp_path)
    assert len(found) == 13
    assert found[1].name == "Atlas Sanatgaran"
    assert found[1].countries == ["AM"]


def test_old_csv_format(tmp_path: Path) -> None:
    assert len(parse("2019-12", tmp_path)) == 115


def test_json_format_with_identifiers(tmp_path: Path) -> None:
    telecom, huawei = parse("handmade_json", tmp_path)
    assert telecom.key.endswith("|30882")
    assert Identifier(scheme="uscc", value="9111000071093019X7") in telecom.identifiers
    assert Identifier(scheme="isin", value="CNE1000002V2") in telecom.identifiers
    assert all(i.scheme != "equity_ticker" for i in telecom.identifiers)
    assert telecom.countries == ["CN"]
    # Entity List records carry a content-hash _id: keyed by name instead, and the hash kept out of raw.
    assert huawei.key == "Entity List (EL) - Bureau of Industry and Security|Huawei Technologies Co., Ltd."
    assert "_id" not in huawei.raw
    assert huawei.listed_on == "2019-05-16"


def test_real_truncated_file_is_rejected(tmp_path: Path) -> None:
    source = UsCsl()
    path = materialise("us_csl", "2023-11_truncated", tmp_path)
    with pytest.raises(SnapshotRejected, match="incomplete"):
        read_snapshot(source, from_path(source.info, path), "x")
